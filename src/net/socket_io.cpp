#include "net/socket_io.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::net::detail {
namespace {

constexpr std::uint64_t wanted_pipe_size = 1u << 20;
constexpr std::size_t bounce_size = 256u << 10;
// sendfile/splice move at most this much per call anyway (MAX_RW_COUNT).
constexpr std::uint64_t max_per_call = 0x7ffff000;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

int pwrite_all(int file, std::span<const char> data, std::uint64_t at, std::uint64_t& done) {
    while (!data.empty()) {
        const ssize_t n = ::pwrite(file, data.data(), data.size(), static_cast<off_t>(at));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        done += static_cast<std::uint64_t>(n);
        at += static_cast<std::uint64_t>(n);
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

Turn recv_turn(int socket, std::span<char> buffer, std::uint64_t& got) {
    got = 0;
    for (;;) {
        const ssize_t n = ::recv(socket, buffer.data(), buffer.size(), 0);
        if (n >= 0) {
            got = static_cast<std::uint64_t>(n);
            return {TurnEnd::complete};
        }
        if (errno == EINTR) continue;
        if (would_block(errno)) return {TurnEnd::wait_readable};
        return {TurnEnd::failed, errno};
    }
}

Turn send_turn(int socket, std::span<const char> all, std::uint64_t& done) {
    std::uint64_t budget = turn_budget;
    while (done < all.size()) {
        if (budget == 0) return {TurnEnd::yield};
        const auto rest = all.subspan(static_cast<std::size_t>(done));
        const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(rest.size(), budget));
        const ssize_t n = ::send(socket, rest.data(), chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) return {TurnEnd::wait_writable};
            return {TurnEnd::failed, errno};
        }
        done += static_cast<std::uint64_t>(n);
        budget -= std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(n));
    }
    return {TurnEnd::complete};
}

Turn send_file_turn(int socket, int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done) {
    std::uint64_t budget = turn_budget;
    while (done < count) {
        if (budget == 0) return {TurnEnd::yield};
        off_t at = static_cast<off_t>(offset + done);
        const auto chunk = static_cast<std::size_t>(std::min({count - done, budget, max_per_call}));
        const ssize_t n = ::sendfile(socket, file, &at, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) return {TurnEnd::wait_writable};
            return {TurnEnd::failed, errno};
        }
        if (n == 0) return {TurnEnd::complete};  // the file is shorter than asked: n < count
        done += static_cast<std::uint64_t>(n);
        budget -= std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(n));
    }
    return {TurnEnd::complete};
}

// ---- FileReceiver ----

Turn FileReceiver::turn(int socket, int file, std::uint64_t offset, std::uint64_t max, std::uint64_t& done) {
    if (done >= max) return {TurnEnd::complete};
    if (!splice_refused_ && ensure_pipe()) return splice_turn(socket, file, offset, max, done);
    return copy_turn(socket, file, offset, max, done);
}

void FileReceiver::reset() {
    pipe_read_.reset();
    pipe_write_.reset();
    pipe_capacity_ = 0;
}

bool FileReceiver::ensure_pipe() {
    if (pipe_read_) return true;
    int ends[2];
    if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) return false;  // out of fds: copying still works
    pipe_read_.reset(ends[0]);
    pipe_write_.reset(ends[1]);
    // A bigger pipe means fewer splice calls per MiB; refused above /proc/sys/fs/pipe-max-size
    // for unprivileged users, in which case the default (64 KiB) is kept.
    ::fcntl(pipe_write_.get(), F_SETPIPE_SZ, static_cast<int>(wanted_pipe_size));
    const int capacity = ::fcntl(pipe_write_.get(), F_GETPIPE_SZ);
    pipe_capacity_ = capacity > 0 ? static_cast<std::uint64_t>(capacity) : 65536;
    return true;
}

Turn FileReceiver::splice_turn(int socket, int file, std::uint64_t offset, std::uint64_t max,
                               std::uint64_t& done) {
    std::uint64_t budget = turn_budget;
    while (done < max) {
        if (budget == 0) return {TurnEnd::yield};
        if (splice_refused_) return copy_turn(socket, file, offset, max, done);  // the file said no
        const auto want = static_cast<std::size_t>(std::min({max - done, pipe_capacity_, budget}));
        const ssize_t n = ::splice(socket, nullptr, pipe_write_.get(), nullptr, want,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0) return {TurnEnd::complete};  // EOF
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) return {TurnEnd::wait_readable};
            if (errno == EINVAL) {
                splice_refused_ = true;
                return copy_turn(socket, file, offset, max, done);
            }
            return {TurnEnd::failed, errno};
        }
        budget -= std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(n));
        if (int err = drain_pipe(file, offset + done, static_cast<std::uint64_t>(n), done)) {
            reset();  // what is left in the pipe never reaches the file
            return {TurnEnd::failed, err};
        }
    }
    return {TurnEnd::complete};
}

int FileReceiver::drain_pipe(int file, std::uint64_t at, std::uint64_t length, std::uint64_t& done) {
    while (length > 0) {
        loff_t file_offset = static_cast<loff_t>(at);
        // No SPLICE_F_NONBLOCK: the pipe holds exactly `length` bytes, and a file write may block.
        const ssize_t n =
            ::splice(pipe_read_.get(), nullptr, file, &file_offset, static_cast<std::size_t>(length), SPLICE_F_MOVE);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EINVAL) {  // this file refuses splice (O_APPEND, ...): copy from now on
                splice_refused_ = true;
                return drain_pipe_by_copy(file, at, length, done);
            }
            return errno;
        }
        if (n == 0) return EIO;
        done += static_cast<std::uint64_t>(n);
        at += static_cast<std::uint64_t>(n);
        length -= static_cast<std::uint64_t>(n);
    }
    return 0;
}

int FileReceiver::drain_pipe_by_copy(int file, std::uint64_t at, std::uint64_t length, std::uint64_t& done) {
    auto buffer = bounce();
    while (length > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
        const ssize_t n = ::read(pipe_read_.get(), buffer.data(), want);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        const std::uint64_t before = done;
        if (int err = pwrite_all(file, buffer.first(static_cast<std::size_t>(n)), at, done)) return err;
        at += done - before;
        length -= static_cast<std::uint64_t>(n);
    }
    return 0;
}

Turn FileReceiver::copy_turn(int socket, int file, std::uint64_t offset, std::uint64_t max, std::uint64_t& done) {
    auto buffer = bounce();
    std::uint64_t budget = turn_budget;
    while (done < max) {
        if (budget == 0) return {TurnEnd::yield};
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(max - done, buffer.size()));
        const ssize_t n = ::recv(socket, buffer.data(), want, 0);
        if (n == 0) return {TurnEnd::complete};  // EOF
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) return {TurnEnd::wait_readable};
            return {TurnEnd::failed, errno};
        }
        budget -= std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(n));
        if (int err = pwrite_all(file, buffer.first(static_cast<std::size_t>(n)), offset + done, done))
            return {TurnEnd::failed, err};
    }
    return {TurnEnd::complete};
}

std::span<char> FileReceiver::bounce() {
    if (bounce_.empty()) bounce_.resize(bounce_size);
    return bounce_;
}

}  // namespace ferry::net::detail
