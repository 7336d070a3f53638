#include "base/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry {
namespace {

std::string errno_text(const std::string& what, const std::string& path, int err) {
    return what + " " + path + ": " + std::strerror(err);
}

int write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

}  // namespace

int FileLock::acquire(const std::string& lock_path) {
    fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd_) return errno;
    while (::flock(fd_.get(), LOCK_EX) != 0) {
        if (errno != EINTR) return errno;
    }
    return 0;
}

FileStamp stamp_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return FileStamp{};
    return FileStamp{static_cast<std::uint64_t>(st.st_ino), static_cast<std::int64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::string parent_folder(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

Status replace_file_atomically(const std::string& path, std::string_view contents, std::string* error) {
    const std::string temp_path = path + ".tmp." + std::to_string(::getpid());
    auto fail = [&](const char* what, const std::string& where, int err) {
        if (error) *error = errno_text(what, where, err);
        ::unlink(temp_path.c_str());
        return err;
    };
    {
        Fd temp(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!temp) return fail("cannot create", temp_path, errno);
        if (::fchmod(temp.get(), 0600) != 0) return fail("cannot chmod", temp_path, errno);  // umask-proof
        if (int err = write_all(temp.get(), contents)) return fail("cannot write", temp_path, err);
        if (::fsync(temp.get()) != 0) return fail("cannot fsync", temp_path, errno);
        if (::close(temp.release()) != 0) return fail("cannot close", temp_path, errno);
    }
    if (::rename(temp_path.c_str(), path.c_str()) != 0) return fail("cannot rename over", path, errno);
    const std::string folder = parent_folder(path);
    Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0) {
        const int err = errno;
        if (error) *error = errno_text("cannot fsync folder", folder, err);
        return err;
    }
    return 0;
}


}  // namespace ferry
