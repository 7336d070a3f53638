// Home on Windows: folders read in batches (FolderReader) and the recursive usage scan, from
// GetFileInformationByHandleEx(FileIdBothDirectoryInfo) on a folder handle opened beneath the
// home. Both run on the worker pool.
#include "fs/home.hpp"
#include "sys/reactor_thread.hpp"

#include "fs/vpath.hpp"
#include "fs/windows/nt_open.hpp"
#include "sys/windows/file_info.hpp"
#include "sys/windows/wide.hpp"

#include <algorithm>
#include <vector>

#ifndef FILE_DIRECTORY_FILE
#define FILE_DIRECTORY_FILE 0x00000001
#endif

namespace ferry::fs {
namespace {

constexpr int max_usage_depth = 64;
constexpr std::size_t listing_buffer_size = 64u << 10;

FileInfo info_of_entry(const FILE_ID_BOTH_DIR_INFO& entry, std::uint64_t volume) {
    FileInfo info;
    const DWORD attributes = entry.FileAttributes;
    const bool link = (attributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
                      (entry.EaSize == IO_REPARSE_TAG_SYMLINK || entry.EaSize == IO_REPARSE_TAG_MOUNT_POINT);
    info.type = link ? sys::FileType::symlink : (attributes & FILE_ATTRIBUTE_DIRECTORY) ? sys::FileType::directory : sys::FileType::regular;
    info.size = info.is_regular() ? static_cast<std::uint64_t>(entry.EndOfFile.QuadPart) : 0;
    info.mtime_ns = sys::windows::unix_ns_of_filetime(static_cast<std::uint64_t>(entry.LastWriteTime.QuadPart));
    info.mtime = info.mtime_ns / 1'000'000'000;
    info.permissions = info.is_directory() ? 0750u : (attributes & FILE_ATTRIBUTE_READONLY) ? 0440u : 0640u;  // as file_info.cpp
    info.id = sys::FileId{volume, static_cast<std::uint64_t>(entry.FileId.QuadPart)};
    return info;
}

// One buffer of `folder`'s entries: `each(entry, name)` for every one but "." and "..". false at
// the end of the folder (ERROR_NO_MORE_FILES is the end, not an error).
template <class Each>
Result<bool> read_buffer(HANDLE folder, std::vector<char>& buffer, Each each) {
    if (buffer.empty()) buffer.resize(listing_buffer_size);
    if (!GetFileInformationByHandleEx(folder, FileIdBothDirectoryInfo, buffer.data(), static_cast<DWORD>(buffer.size()))) {
        const DWORD code = GetLastError();
        if (code == ERROR_NO_MORE_FILES) return false;
        return sys::windows::from_win32(code);
    }
    for (std::size_t at = 0;;) {
        const auto* entry = reinterpret_cast<const FILE_ID_BOTH_DIR_INFO*>(buffer.data() + at);
        const std::wstring_view name(entry->FileName, entry->FileNameLength / sizeof(wchar_t));
        if (name != L"." && name != L"..") each(*entry, sys::windows::to_utf8(name));
        if (entry->NextEntryOffset == 0) return true;
        at += entry->NextEntryOffset;
    }
}

std::uint64_t volume_of(HANDLE handle) {
    BY_HANDLE_FILE_INFORMATION info{};
    return GetFileInformationByHandle(handle, &info) ? info.dwVolumeSerialNumber : 0;
}

}  // namespace

struct FolderReader::Impl {
    File folder;
    std::uint64_t volume = 0;
    std::vector<char> buffer;
    std::vector<DirEntry> carried;  // read from the last buffer beyond the batch asked for
    bool ended = false;
};

FolderReader::FolderReader() = default;
FolderReader::FolderReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FolderReader::FolderReader(FolderReader&&) noexcept = default;
FolderReader& FolderReader::operator=(FolderReader&&) noexcept = default;
FolderReader::~FolderReader() = default;

Result<std::vector<DirEntry>> FolderReader::next(std::size_t max) {
    std::vector<DirEntry> entries;
    if (!impl_) return entries;
    while (entries.size() < max && !impl_->carried.empty()) {
        entries.push_back(std::move(impl_->carried.back()));
        impl_->carried.pop_back();
    }
    while (entries.size() < max && !impl_->ended) {
        // A buffer holds what it holds: entries beyond `max` wait in `carried` for the next batch.
        std::vector<DirEntry> got;
        const auto more = read_buffer(impl_->folder.get(), impl_->buffer, [&](const FILE_ID_BOTH_DIR_INFO& entry, std::string name) {
            got.push_back(DirEntry{std::move(name), info_of_entry(entry, impl_->volume)});
        });
        if (!more) return more.error();
        if (!*more) impl_->ended = true;
        for (auto& entry : got) {
            if (entries.size() < max) {
                entries.push_back(std::move(entry));
            } else {
                impl_->carried.insert(impl_->carried.begin(), std::move(entry));
            }
        }
    }
    std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return entries;
}

Result<FolderReader> Home::read_folder(std::string_view vpath) const {
    sys::off_reactor("Home::read_folder");
    auto folder = open_directory(vpath);
    if (!folder) return folder.error();
    auto impl = std::make_unique<FolderReader::Impl>();
    impl->volume = volume_of(folder->get());
    impl->folder = std::move(*folder);
    return FolderReader(std::move(impl));
}

namespace {

// Sum of regular file sizes in `folder` and below. Reparse points are never entered.
std::uint64_t sum_folder(HANDLE folder, const std::wstring& home_final, int depth) {
    std::uint64_t total = 0;
    std::vector<char> buffer;
    std::vector<std::string> folders;
    auto add = [&](const FILE_ID_BOTH_DIR_INFO& entry, std::string name) {
        if (entry.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) return;
        if (entry.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
            folders.push_back(std::move(name));
        } else {
            total += static_cast<std::uint64_t>(entry.EndOfFile.QuadPart);
        }
    };
    for (;;) {
        const auto more = read_buffer(folder, buffer, add);
        if (!more || !*more) break;  // an unreadable folder counts what was read
    }
    if (depth >= max_usage_depth) return total;
    for (const auto& name : folders) {
        auto sub = windows::open_beneath(folder, home_final, name,
                                         windows::OpenRequest{FILE_LIST_DIRECTORY | FILE_TRAVERSE, windows::Disposition::open,
                                                              FILE_DIRECTORY_FILE});
        if (sub) total += sum_folder(sub->get(), home_final, depth + 1);
    }
    return total;
}

}  // namespace

Result<std::uint64_t> Home::usage() const {
    sys::off_reactor("Home::usage");
    auto root = open_directory("/");
    if (!root) return root.error();
    return sum_folder(root->get(), final_path_, 0);
}

}  // namespace ferry::fs
