#include "net/linux/socket_io.hpp"

#include "sys/posix/fd_io.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::net::detail {
namespace {

// A quarter of a 1 MiB per-core L2 (the machines measured): received bytes are still in cache when
// pwrite copies them to the page cache. See FileReceiver in socket_io.hpp for the measurements.
constexpr std::size_t receive_buffer_size = 256u << 10;
// sendfile moves at most this much per call anyway (MAX_RW_COUNT).
constexpr std::uint64_t max_per_call = 0x7ffff000;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

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

bool piece_in_page_cache(int file, std::uint64_t offset, std::uint64_t count) {
    char byte;
    iovec vector{&byte, 1};
    for (const std::uint64_t at : {offset, offset + count - 1}) {
        const ssize_t n = ::preadv2(file, &vector, 1, static_cast<off_t>(at), RWF_NOWAIT);
        if (n < 0 && errno == EAGAIN) return false;
    }
    return true;
}

bool may_send_piece(int file, std::uint64_t at, std::uint64_t length, std::uint64_t* cached_until) {
    if (!cached_until || at + length <= *cached_until) return true;
    if (!piece_in_page_cache(file, at, length)) return false;
    *cached_until = at + length;
    return true;
}

Turn send_file_turn(int socket, int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                    std::uint64_t* cached_until) {
    std::uint64_t budget = turn_budget;
    while (done < count) {
        if (budget == 0) return {TurnEnd::yield};
        off_t at = static_cast<off_t>(offset + done);
        const auto chunk = static_cast<std::size_t>(std::min({count - done, budget, max_per_call}));
        if (!may_send_piece(file, offset + done, chunk, cached_until)) return {TurnEnd::wait_storage};
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

// Fill the buffer with as many receives as the socket has ready, then write it in one pwrite:
// each file write costs a journal handle and an extent lookup, so few large writes beat many
// small ones (one receive yields about one TCP segment's worth).
Turn FileReceiver::turn(int socket, int file, std::uint64_t offset, std::uint64_t max, std::uint64_t& done) {
    auto space = buffer();
    std::uint64_t budget = turn_budget;
    while (done < max) {
        if (budget == 0) return {TurnEnd::yield};
        const auto room = static_cast<std::size_t>(std::min<std::uint64_t>({max - done, space.size(), budget}));
        std::size_t filled = 0;
        Turn end{TurnEnd::complete};
        bool socket_drained = false;
        while (filled < room) {
            const ssize_t n = ::recv(socket, space.data() + filled, room - filled, 0);
            if (n > 0) {
                filled += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            socket_drained = true;
            if (n == 0) {
                end = {TurnEnd::complete};  // EOF
            } else if (would_block(errno)) {
                end = {TurnEnd::wait_readable};
            } else {
                end = {TurnEnd::failed, errno};
            }
            break;
        }
        budget -= std::min<std::uint64_t>(budget, filled);
        if (int err = sys::pwrite_all(file, space.first(filled), offset + done, done)) return {TurnEnd::failed, err};
        if (socket_drained) return end;
    }
    return {TurnEnd::complete};
}

std::span<char> FileReceiver::buffer() {
    if (buffer_.empty()) buffer_.resize(receive_buffer_size);
    return buffer_;
}

}  // namespace ferry::net::detail
