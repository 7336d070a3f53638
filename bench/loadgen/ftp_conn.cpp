#include "ftp_conn.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <stdexcept>

namespace bench {

sockaddr_in make_address(const std::string& host, int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) throw std::invalid_argument("bad IPv4 address: " + host);
    return addr;
}

std::optional<sockaddr_in> parse_pasv(std::string_view text) {
    auto open = text.find('(');
    std::string inner(text.substr(open == std::string_view::npos ? 4 : open + 1));
    unsigned h1, h2, h3, h4, p1, p2;
    if (std::sscanf(inner.c_str(), "%u,%u,%u,%u,%u,%u", &h1, &h2, &h3, &h4, &p1, &p2) != 6) return std::nullopt;
    if (h1 > 255 || h2 > 255 || h3 > 255 || h4 > 255 || p1 > 255 || p2 > 255) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(p1 * 256 + p2));
    addr.sin_addr.s_addr = htonl((h1 << 24) | (h2 << 16) | (h3 << 8) | h4);
    return addr;
}

int start_connect(const sockaddr_in& addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

bool connect_finished(int fd) {
    // getpeername succeeds only on a connected socket, which also filters stale EPOLLOUT events.
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    return getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

static bool connect_failed(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- FtpControl ----

bool FtpControl::open(const sockaddr_in& server) {
    close_connection();
    fd_ = start_connect(server);
    if (fd_ < 0) return false;
    connecting_ = true;
    ++generation_;
    in_.clear();
    out_.clear();
    multiline_code_ = 0;
    reactor_.add(fd_, EPOLLIN | EPOLLOUT, this);
    return true;
}

void FtpControl::close_connection() {
    if (fd_ < 0) return;
    reactor_.remove(fd_);
    close(fd_);
    fd_ = -1;
}

void FtpControl::fail() {
    close_connection();
    on_closed();
}

void FtpControl::send_command(std::string_view line) {
    if (fd_ < 0) return;
    out_.append(line);
    out_.append("\r\n");
    if (!connecting_) flush_output();
}

void FtpControl::on_ready(std::uint32_t events) {
    if (fd_ < 0) return;
    if (connecting_) {
        if (connect_failed(fd_)) return fail();
        if (!connect_finished(fd_)) return;
        connecting_ = false;
        update_interest();
    }
    // Handlers may close and reopen the connection; events belong to the connection they came for.
    auto generation = generation_;
    if (events & EPOLLOUT) flush_output();
    if (fd_ >= 0 && generation == generation_ && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_available();
}

void FtpControl::read_available() {
    std::array<char, 4096> buf;
    for (;;) {
        ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
        if (n > 0) {
            in_.append(buf.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        // EOF or error: deliver what is complete first, then report the close.
        auto generation = generation_;
        parse_lines();
        if (fd_ >= 0 && generation == generation_) fail();
        return;
    }
    parse_lines();
}

void FtpControl::parse_lines() {
    // A reply handler may send, close or reopen; stop when the connection changes under us.
    auto generation = generation_;
    std::size_t pos;
    while (fd_ >= 0 && generation == generation_ && (pos = in_.find('\n')) != std::string::npos) {
        std::string line = in_.substr(0, pos);
        in_.erase(0, pos + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        bool has_code = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                        std::isdigit(static_cast<unsigned char>(line[1])) &&
                        std::isdigit(static_cast<unsigned char>(line[2]));
        int code = has_code ? std::stoi(line.substr(0, 3)) : 0;
        char sep = line.size() > 3 ? line[3] : ' ';
        if (multiline_code_ != 0) {
            if (code == multiline_code_ && sep == ' ') {
                multiline_code_ = 0;
                on_reply(code, line);
            }
            continue;
        }
        if (!has_code) continue;
        if (sep == '-') {
            multiline_code_ = code;
            continue;
        }
        on_reply(code, line);
    }
}

void FtpControl::flush_output() {
    while (fd_ >= 0 && !out_.empty()) {
        ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out_.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        return fail();
    }
    if (fd_ >= 0) update_interest();
}

void FtpControl::update_interest() {
    std::uint32_t events = EPOLLIN;
    if (connecting_ || !out_.empty()) events |= EPOLLOUT;
    reactor_.modify(fd_, events, this);
}

// ---- DataConnection, DataSink, DataSource ----

bool DataConnection::connect_to(const sockaddr_in& addr, std::uint32_t events) {
    close_connection();
    fd_ = start_connect(addr);
    if (fd_ < 0) return false;
    connecting_ = true;
    events_ = events;
    reactor_.add(fd_, events | EPOLLOUT, this);
    return true;
}

void DataConnection::close_connection() {
    if (fd_ < 0) return;
    reactor_.remove(fd_);
    close(fd_);
    fd_ = -1;
}

void DataConnection::on_ready(std::uint32_t) {
    if (fd_ < 0) return;
    if (connecting_) {
        if (connect_failed(fd_)) {
            close_connection();
            return done_with(false);
        }
        if (!connect_finished(fd_)) return;
        connecting_ = false;
        if (events_ != EPOLLOUT) reactor_.modify(fd_, events_, this);
    }
    transfer();
}

bool DataSink::open(const sockaddr_in& addr) {
    bytes_ = 0;
    return connect_to(addr, EPOLLIN);
}

void DataSink::done_with(bool ok) { owner_.on_data_done(ok, bytes_); }

void DataSink::transfer() {
    static thread_local std::array<char, 65536> scratch;
    for (;;) {
        ssize_t n = recv(fd(), scratch.data(), scratch.size(), 0);
        if (n > 0) {
            bytes_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        close_connection();
        return done_with(n == 0);
    }
}

bool DataSource::open(const sockaddr_in& addr, std::size_t size) {
    left_ = size;
    return connect_to(addr, EPOLLOUT);
}

void DataSource::done_with(bool ok) { owner_.on_upload_sent(ok); }

void DataSource::transfer() {
    static const std::array<char, 65536> zeros{};
    while (left_ > 0) {
        ssize_t n = send(fd(), zeros.data(), std::min(left_, zeros.size()), MSG_NOSIGNAL);
        if (n > 0) {
            left_ -= static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        close_connection();
        return done_with(false);
    }
    close_connection();
    done_with(true);
}

}  // namespace bench
