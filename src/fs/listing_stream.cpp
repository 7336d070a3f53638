#include "fs/listing_stream.hpp"

#include "fs/listing.hpp"
#include "fs/vpath.hpp"

#include <algorithm>
#include <cerrno>
#include <fnmatch.h>

namespace ferry::fs {

bool is_list_pattern(std::string_view name) {
    constexpr std::ptrdiff_t max_stars = 4;
    return name.find_first_of("*?[") != std::string_view::npos &&
           std::count(name.begin(), name.end(), '*') <= max_stars;
}

ListingStream::ListingStream(std::shared_ptr<const Home> home, ListingFormat format, std::string owner)
    : home_(std::move(home)), format_(format), owner_(std::move(owner)), now_(std::time(nullptr)) {}

Result<ListingStream> ListingStream::open(std::shared_ptr<const Home> home, const std::string& vpath,
                                          ListingFormat format, std::string owner, std::string_view typed) {
    ListingStream stream(home, format, std::move(owner));
    auto st = home->stat(vpath);
    const std::string name(vpath_name(vpath));
    // A name that exists as typed is never taken for a pattern; MLSD never takes one.
    const bool pattern = !st && st.error() == ENOENT && format != ListingFormat::facts && is_list_pattern(name);
    if (!st && !pattern) return Result<ListingStream>::failure(st.error());
    if (pattern) {
        auto reader = home->read_folder(vpath_parent(vpath));
        if (!reader) return Result<ListingStream>::failure(reader.error());
        stream.reader_ = std::move(*reader);
        stream.pattern_ = name;
        const auto slash = typed.rfind('/');
        stream.typed_folder_ = slash == std::string_view::npos ? "" : std::string(typed.substr(0, slash + 1));
        return stream;
    }
    if (!S_ISDIR(st->st_mode)) {
        if (format == ListingFormat::facts) return Result<ListingStream>::failure(ENOTDIR);
        stream.single_ = stream.line(DirEntry{name, *st});
        return stream;
    }
    auto reader = home->read_folder(vpath);
    if (!reader) return Result<ListingStream>::failure(reader.error());
    stream.reader_ = std::move(*reader);
    return stream;
}

std::string ListingStream::line(const DirEntry& entry) const {
    switch (format_) {
        case ListingFormat::facts: return mlsx_line(entry, owner_);
        case ListingFormat::names: return typed_folder_ + displayed_name(entry.name) + "\r\n";
        case ListingFormat::long_lines: break;
    }
    return list_line(entry, owner_, now_);
}

Result<std::string> ListingStream::next(std::size_t batch) {
    if (!single_.empty()) return std::exchange(single_, std::string());
    std::string text;
    while (reader_ && text.empty()) {
        auto entries = reader_->next(batch);
        if (!entries) return Result<std::string>::failure(entries.error());
        if (entries->empty()) {
            reader_.reset();  // done: the folder is closed now, not when the transfer ends
            break;
        }
        for (const auto& entry : *entries) {
            // FNM_PERIOD: dot files only when the pattern starts with a dot, as in a shell.
            if (!pattern_.empty() && ::fnmatch(pattern_.c_str(), entry.name.c_str(), FNM_PERIOD) != 0) continue;
            text += line(entry);
        }
    }
    return text;
}

}  // namespace ferry::fs
