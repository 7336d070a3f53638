#include "sys/atomic_file.hpp"

#include "sys/file.hpp"
#include "sys/posix/errno.hpp"
#include "sys/posix/fd_io.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

namespace ferry {
namespace {

std::string error_text(const std::string& what, const std::string& path, const Error& err) {
    return what + " " + path + ": " + err.message();
}

}  // namespace

Status FileLock::acquire(const std::string& lock_path) {
    file_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!file_) return sys::last_error();
    while (::flock(file_.get(), LOCK_EX) != 0) {
        if (errno != EINTR) return sys::last_error();
    }
    return {};
}

std::string parent_folder(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

namespace {

enum class Placing { replace, never_replace };

// Temp file next to `path`, written and fsync'ed, renamed over (or, never_replace, to) `path`,
// then the folder fsync'ed so that the rename itself survives a crash.
Status write_atomically(const std::string& path, std::string_view contents, mode_t mode, Placing placing,
                        std::string* error) {
    const std::string temp_path = path + ".tmp." + std::to_string(::getpid());
    auto fail = [&](const char* what, const std::string& where, Error err) {
        if (error) *error = error_text(what, where, err);
        ::unlink(temp_path.c_str());
        return err;
    };
    {
        File temp(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!temp) return fail("cannot create", temp_path, sys::last_error());
        if (::fchmod(temp.get(), mode) != 0) return fail("cannot chmod", temp_path, sys::last_error());  // umask-proof
        if (const Status err = sys::from_errno(sys::write_all(temp.get(), contents))) return fail("cannot write", temp_path, err);
        if (::fsync(temp.get()) != 0) return fail("cannot fsync", temp_path, sys::last_error());
        if (::close(temp.release()) != 0) return fail("cannot close", temp_path, sys::last_error());
    }
    const bool placed = placing == Placing::replace
                            ? ::rename(temp_path.c_str(), path.c_str()) == 0
                            : ::renameat2(AT_FDCWD, temp_path.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0;
    if (!placed) return fail(placing == Placing::replace ? "cannot rename over" : "cannot create", path, sys::last_error());
    const std::string folder = parent_folder(path);
    File dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0) {
        const Error err = sys::last_error();
        if (error) *error = error_text("cannot fsync folder", folder, err);
        return err;
    }
    return {};
}

}  // namespace

Status replace_file_atomically(const std::string& path, std::string_view contents, std::string* error) {
    return write_atomically(path, contents, 0600, Placing::replace, error);
}

Status create_file_atomically(const std::string& path, std::string_view contents, std::uint32_t mode,
                              std::string* error) {
    return write_atomically(path, contents, static_cast<mode_t>(mode), Placing::never_replace, error);
}

Status make_folders(const std::string& folder, std::uint32_t mode) {
    for (std::size_t pos = 1; pos <= folder.size(); ++pos) {
        if (pos != folder.size() && folder[pos] != '/') continue;
        const std::string prefix = folder.substr(0, pos);
        if (::mkdir(prefix.c_str(), static_cast<mode_t>(mode)) == 0) {
            ::chmod(prefix.c_str(), static_cast<mode_t>(mode));
            continue;
        }
        if (errno != EEXIST) return sys::last_error();
        struct stat st {};
        if (::stat(prefix.c_str(), &st) != 0) return sys::last_error();
        if (!S_ISDIR(st.st_mode)) return Error(Errc::not_directory, ENOTDIR);
    }
    return {};
}

Status rename_path(const std::string& from, const std::string& to) {
    return ::rename(from.c_str(), to.c_str()) == 0 ? Status{} : sys::last_error();
}

Result<std::string> read_whole_file(const std::string& path) {
    File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return sys::last_error();
    std::string text;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
        if (n == 0) return text;
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys::last_error();
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace ferry
