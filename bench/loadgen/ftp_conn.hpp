// Non-blocking FTP pieces on the reactor: a control connection that parses replies, and a data
// connection that reads to EOF and discards. Workloads derive from FtpControl to script a session.
#pragma once
#include "reactor.hpp"

#include <netinet/in.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

sockaddr_in make_address(const std::string& host, int port);
// "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)" → address; nullopt when malformed.
std::optional<sockaddr_in> parse_pasv(std::string_view reply_text);
// A non-blocking TCP socket with a connect to `addr` started; -1 on immediate failure.
int start_connect(const sockaddr_in& addr);
// True once a non-blocking connect has completed successfully (false: pending or failed).
bool connect_finished(int fd);
double seconds_since(Clock::time_point start);

class FtpControl : public Handler {
public:
    explicit FtpControl(Reactor& reactor) : reactor_(reactor) {}
    ~FtpControl() override { close_connection(); }

    // Starts a new connection (closing any previous one). False when the socket could not start.
    bool open(const sockaddr_in& server);
    void send_command(std::string_view line);  // CR LF appended
    void close_connection();
    bool is_open() const { return fd_ >= 0; }
    void on_ready(std::uint32_t events) override;

protected:
    // One complete (possibly multi-line) reply; `text` is its last line.
    virtual void on_reply(int code, std::string_view text) = 0;
    // The connection failed or the server closed it; the socket is already closed.
    virtual void on_closed() = 0;
    Reactor& reactor_;

private:
    void fail();
    void read_available();
    void flush_output();
    void parse_lines();
    void update_interest();

    int fd_ = -1;
    bool connecting_ = false;
    std::uint64_t generation_ = 0;  // counts open() calls
    int multiline_code_ = 0;  // non-zero inside a "123-" reply
    std::string in_;
    std::string out_;
};

// One passive-mode data connection: connect, then the derived class moves the bytes.
class DataConnection : public Handler {
public:
    explicit DataConnection(Reactor& reactor) : reactor_(reactor) {}
    ~DataConnection() override { close_connection(); }
    void close_connection();
    bool is_open() const { return fd_ >= 0; }
    void on_ready(std::uint32_t events) final;

protected:
    // Starts the connect, then waits for `events`; false when the socket could not start.
    bool connect_to(const sockaddr_in& addr, std::uint32_t events);
    // Connected: move bytes until EAGAIN (return) or the end (call done_with(ok)).
    virtual void transfer() = 0;
    virtual void done_with(bool ok) = 0;
    int fd() const { return fd_; }

private:
    Reactor& reactor_;
    int fd_ = -1;
    bool connecting_ = false;
    std::uint32_t events_ = 0;
};

// Receives one passive-mode download and discards it.
class DataSink : public DataConnection {
public:
    class Owner {
    public:
        virtual void on_data_done(bool ok, std::size_t bytes) = 0;

    protected:
        ~Owner() = default;
    };

    DataSink(Reactor& reactor, Owner& owner) : DataConnection(reactor), owner_(owner) {}
    bool open(const sockaddr_in& addr);

private:
    void transfer() override;
    void done_with(bool ok) override;
    Owner& owner_;
    std::size_t bytes_ = 0;
};

// Sends one passive-mode upload of `size` bytes (zeros), then closes its end.
class DataSource : public DataConnection {
public:
    class Owner {
    public:
        virtual void on_upload_sent(bool ok) = 0;

    protected:
        ~Owner() = default;
    };

    DataSource(Reactor& reactor, Owner& owner) : DataConnection(reactor), owner_(owner) {}
    bool open(const sockaddr_in& addr, std::size_t size);

private:
    void transfer() override;
    void done_with(bool ok) override;
    Owner& owner_;
    std::size_t left_ = 0;
};

}  // namespace bench
