// The Linux syscalls behind SocketStream's operations, one "turn" at a time.
//
// A turn moves bytes until the operation is complete, the socket would block, a per-turn budget is
// spent (so one big transfer cannot starve the other sessions on the same reactor), or an error.
// Stream keeps the bookkeeping (pending ops, readiness, completions); these functions only move bytes.
// TLS streams use turns of the same shape over SSL_read/SSL_write/SSL_sendfile (tls_io.hpp).
// Errors here are errno values: the stream maps them to Error when it completes an operation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ferry::net::detail {

// Bytes one operation may move per reactor turn before it yields to the other descriptors.
// Measured (bench/, this machine, alternating builds, 2026-12-01): 1 MiB against the earlier 8 MiB
// gave 50 parallel 256 MiB downloads 5,832-6,251 MB/s at 1.70-1.82 CPU-s against 5,010-5,047 at
// 2.15-2.18, a single 2 GiB download 3,281-3,906 MB/s against 2,513-3,230, and left uploads and
// FTPS downloads level or a little cheaper; 256 KiB measured like 1 MiB. Shorter sendfile calls
// hold the socket for less time while the reader on the other core drains it.
inline constexpr std::uint64_t turn_budget = 1u << 20;

// A turn that would block says which readiness to wait for: plain sockets always wait in the
// direction they move bytes, but TLS may not (SSL_read may need to write, SSL_write to read).
enum class TurnEnd {
    complete,       // all done (or EOF / the file ended early)
    wait_readable,  // run another turn when the socket becomes readable
    wait_writable,  // ... writable
    yield,          // budget spent: continue on the next loop turn
    wait_storage,   // the next piece of the file is not in the page cache: bring it in first
    failed,         // err says why
};

struct Turn {
    TurnEnd end;
    int err = 0;
};

// recv once into buffer; `got` is set to the bytes read (0 with complete = EOF).
Turn recv_turn(int socket, std::span<char> buffer, std::uint64_t& got);

// send() (MSG_NOSIGNAL) the bytes of `all` from `done` on; advances `done`.
Turn send_turn(int socket, std::span<const char> all, std::uint64_t& done);

// sendfile() `count` bytes of `file` from `offset`; advances `done` (bytes already sent).
// `cached_until` (null: no probing): the file offset up to which the page cache was found to hold
// the file; a piece past it is probed first and, if it is not there, the turn ends wait_storage.
Turn send_file_turn(int socket, int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                    std::uint64_t* cached_until = nullptr);
// Whether the page cache holds [offset, offset + count) of `file`, judged by its first and last
// byte (preadv2 RWF_NOWAIT: never waits). True too when the file cannot tell (the send reports errors).
bool piece_in_page_cache(int file, std::uint64_t offset, std::uint64_t count);
// Probes the piece [at, at + length) unless `cached_until` says it was found before.
bool may_send_piece(int file, std::uint64_t at, std::uint64_t length, std::uint64_t* cached_until);

// Socket to file: as many receives as the socket has ready into a 256 KiB buffer, then one pwrite.
// The size, measured with 2 GiB uploads (bench/, 2-4 runs x 5 rounds each, pure-ftpd alongside as a
// control): 64 KiB 1,836-2,084 MB/s at 1.02-1.13 CPU-s (many more syscalls); 128 KiB 2,239-2,443
// at 0.88-0.95; 256 KiB 2,689-2,834 at 0.75-0.80; 1 MiB 2,223-2,563 at 0.80-0.92 (the buffer fills
// the core's L2, so pwrite reads it back from L3).
// Not splice: measured here (2 GiB uploads over loopback, bench/, alternating runs), splice
// socket -> pipe -> file moved as fast (1.9-2.1 GB/s against 1.8-1.9) but cost 1.6-1.85 CPU-s
// against 0.95-1.0 for this: the kernel's copy into the page cache then reads cold socket pages
// instead of a cache-hot buffer. CPU is what a server with many sessions runs out of.
// Owns the buffer (allocated on first use), so it lives as long as the Stream.
class FileReceiver {
public:
    // Receives into `file` at offset + done until `max` bytes or EOF; `done` counts bytes that
    // reached the file, also when a write error (ENOSPC, EDQUOT, EIO, EFBIG) ends the turn.
    Turn turn(int socket, int file, std::uint64_t offset, std::uint64_t max, std::uint64_t& done);

private:
    std::span<char> buffer();
    std::vector<char> buffer_;
};

}  // namespace ferry::net::detail
