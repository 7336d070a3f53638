#include "proto/transfer.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace ferry::proto {
namespace {

// FTPS clients take a TLS data connection closed without close_notify for a truncated transfer:
// a complete one ends with close_notify, then `done`. Plain streams finish at once.
void end_stream(net::Stream& stream, int err, std::function<void()> done) {
    if (err != 0 || !stream.tls()) return done();
    stream.shutdown_tls([done = std::move(done)](int, std::uint64_t) { done(); });
}

constexpr std::uint64_t kUploadChunk = 4u << 20;   // bytes granted per quota check
constexpr std::size_t kAsciiBlock = 256u << 10;    // buffer for line-end conversion
constexpr std::size_t kDrainBlock = 64u << 10;     // reads of what is dropped after the quota

bool is_local_write_error(int err) {
    return err == EDQUOT || err == ENOSPC || err == EFBIG || err == EIO || err == EBADF || err == EROFS;
}

class FileDownload final : public Transfer {
public:
    FileDownload(std::unique_ptr<net::Stream> stream, Fd file, std::uint64_t offset, std::uint64_t end, bool ascii,
                 net::Stream::FileState state)
        : stream_(std::move(stream)), file_(std::move(file)), offset_(offset), end_(end), ascii_(ascii), state_(state) {}

    void start(Done done) override {
        done_ = std::move(done);
        struct stat st {};
        if (::fstat(file_.get(), &st) != 0) return finish_from_loop(errno, true);
        size_ = std::min(static_cast<std::uint64_t>(st.st_size), end_);
        if (offset_ >= size_) return finish_from_loop(0, false);
        ascii_ ? send_ascii_block() : send_binary();
    }
    std::uint64_t bytes() const override { return bytes_ + stream_->in_flight(); }

private:
    void send_binary() {
        stream_->send_file(file_.get(), offset_, size_ - offset_, [this](int err, std::uint64_t n) {
            bytes_ += n;
            finish(err, false);
        }, state_);
    }

    // LF -> CR LF, block by block (a CR already before the LF is kept as it is).
    void send_ascii_block() {
        std::vector<char> raw(std::min<std::uint64_t>(kAsciiBlock, size_ - offset_));
        if (raw.empty()) return finish(0, false);
        const ssize_t got = ::pread(file_.get(), raw.data(), raw.size(), static_cast<off_t>(offset_));
        if (got < 0) return finish(errno, true);
        if (got == 0) return finish(0, false);
        offset_ += static_cast<std::uint64_t>(got);
        out_.clear();
        for (ssize_t i = 0; i < got; ++i) {
            if (raw[i] == '\n' && !last_was_cr_) out_.push_back('\r');
            last_was_cr_ = raw[i] == '\r';
            out_.push_back(raw[i]);
        }
        stream_->write_all(out_, [this](int err, std::uint64_t n) {
            bytes_ += n;
            if (err) return finish(err, false);
            send_ascii_block();
        });
    }

    void finish(int err, bool local) {
        end_stream(*stream_, err, [this, err, local] { done_(TransferOutcome{err, local, bytes_}); });
    }
    // Nothing to send: an empty write still completes from the loop, never inside start().
    void finish_from_loop(int err, bool local) {
        stream_->write_all({}, [this, err, local](int, std::uint64_t) { finish(err, local); });
    }

    std::unique_ptr<net::Stream> stream_;
    Fd file_;
    std::uint64_t offset_;
    std::uint64_t end_;
    std::uint64_t size_ = 0;  // where sending stops: min(file size, end_)
    bool ascii_;
    net::Stream::FileState state_;
    bool last_was_cr_ = false;
    std::uint64_t bytes_ = 0;
    std::string out_;
    Done done_;
};

class TextDownload final : public Transfer {
public:
    TextDownload(std::unique_ptr<net::Stream> stream, std::string text)
        : stream_(std::move(stream)), text_(std::move(text)) {}
    void start(Done done) override {
        done_ = std::move(done);
        if (text_.empty()) {
            // Still a completion from the loop, as the contract promises.
            stream_->write_all({}, [this](int err, std::uint64_t) {
                end_stream(*stream_, err, [this, err] { done_(TransferOutcome{err, false, 0}); });
            });
            return;
        }
        stream_->write_all(text_, [this](int err, std::uint64_t n) {
            bytes_ = n;
            end_stream(*stream_, err, [this, err, n] { done_(TransferOutcome{err, false, n}); });
        });
    }
    std::uint64_t bytes() const override { return bytes_ + stream_->in_flight(); }

private:
    std::unique_ptr<net::Stream> stream_;
    std::string text_;
    std::uint64_t bytes_ = 0;
    Done done_;
};

class PiecewiseDownload final : public Transfer {
public:
    PiecewiseDownload(std::unique_ptr<net::Stream> stream, std::string first, NextPiece next)
        : stream_(std::move(stream)), text_(std::move(first)), next_(std::move(next)) {}

    void start(Done done) override {
        done_ = std::move(done);
        send();
    }
    std::uint64_t bytes() const override { return bytes_ + stream_->in_flight(); }

private:
    // An empty piece ends it; the write of nothing still completes from the loop.
    void send() {
        const bool last = text_.empty();
        stream_->write_all(text_, [this, last](int err, std::uint64_t n) {
            bytes_ += n;
            if (err || last) return finish(err, false);
            next_([this, alive = std::weak_ptr<int>(alive_)](int next_err, std::string text) {
                if (alive.expired()) return;
                if (next_err) return finish(next_err, true);
                text_ = std::move(text);
                send();
            });
        });
    }

    void finish(int err, bool local) {
        end_stream(*stream_, err, [this, err, local] { done_(TransferOutcome{err, local, bytes_}); });
    }

    std::unique_ptr<net::Stream> stream_;
    std::string text_;
    NextPiece next_;
    std::uint64_t bytes_ = 0;
    Done done_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // pieces made on the pool check it
};

class FileUpload final : public Transfer {
public:
    FileUpload(std::unique_ptr<net::Stream> stream, Fd file, std::uint64_t offset, bool ascii,
               std::unique_ptr<UploadBudget> budget, QuotaDrain drain, fs::FilesBeingWritten::Mark writing)
        : stream_(std::move(stream)), file_(std::move(file)), offset_(offset), ascii_(ascii),
          budget_(std::move(budget)), drain_(drain), writing_(std::move(writing)) {}

    void start(Done done) override {
        done_ = std::move(done);
        next_chunk();
    }
    std::uint64_t bytes() const override { return bytes_ + (draining_ ? 0 : stream_->in_flight()); }
    std::uint64_t progress() const override { return bytes() + dropped_ + (draining_ ? stream_->in_flight() : 0); }
    bool over_quota() const override { return draining_; }

private:
    std::uint64_t grant(std::uint64_t wanted) { return budget_ ? budget_->grant(wanted) : wanted; }
    void settle(std::uint64_t granted, std::uint64_t used) {
        if (budget_) budget_->settle(granted, used);
    }

    void next_chunk() {
        const std::uint64_t granted = grant(ascii_ ? kAsciiBlock : kUploadChunk);
        if (granted == 0) return check_nothing_more();
        if (ascii_) return receive_ascii(granted);
        stream_->recv_to_file(file_.get(), offset_, granted, [this, granted](int err, std::uint64_t n) {
            settle(granted, n);
            offset_ += n;
            bytes_ += n;
            if (err) return finish(err, is_local_write_error(err));
            if (n < granted) return finish(0, false);  // the client closed: complete
            next_chunk();
        });
    }

    // CR LF -> LF. A CR at the end of a block waits for the next block to see what follows it.
    void receive_ascii(std::uint64_t granted) {
        in_.resize(granted < kAsciiBlock ? granted : kAsciiBlock);
        stream_->read_some(in_, [this, granted](int err, std::uint64_t n) {
            if (err || n == 0) {
                settle(granted, 0);
                if (!err && pending_cr_) write_out("\r", 1);
                return finish(err, false);
            }
            bytes_ += n;
            std::string out;
            out.reserve(n + 1);
            for (std::uint64_t i = 0; i < n; ++i) {
                const char c = in_[i];
                if (pending_cr_ && c != '\n') out.push_back('\r');
                pending_cr_ = c == '\r';
                if (!pending_cr_) out.push_back(c);
            }
            const int werr = write_out(out.data(), out.size());
            settle(granted, out.size());
            if (werr) return finish(werr, true);
            next_chunk();
        });
    }

    int write_out(const char* data, std::size_t size) {
        while (size > 0) {
            const ssize_t w = ::pwrite(file_.get(), data, size, static_cast<off_t>(offset_));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return errno;
            if (w == 0) return EIO;
            data += w;
            size -= static_cast<std::size_t>(w);
            offset_ += static_cast<std::uint64_t>(w);
        }
        return 0;
    }

    // The budget is spent: the upload is fine only if the client has nothing more to send.
    void check_nothing_more() {
        in_.resize(kDrainBlock);
        stream_->read_some(in_, [this](int err, std::uint64_t n) {
            if (err) return finish(err, false);
            if (n == 0) return finish(0, false);
            draining_ = true;
            drain_started_ = std::chrono::steady_clock::now();
            drain_some(n);
        });
    }

    // Over quota: drop what arrives until the client closes (then the data connection ends with no
    // unread byte, cleanly) or a bound of QuotaDrain is passed (then it is cut).
    void drain_some(std::uint64_t n) {
        dropped_ += n;
        const bool past_bounds = dropped_ > drain_.max_bytes ||
                                 std::chrono::steady_clock::now() - drain_started_ > drain_.max_time;
        if (past_bounds) return finish(EDQUOT, true);
        stream_->read_some(in_, [this](int err, std::uint64_t got) {
            if (err || got == 0) return finish(EDQUOT, true);
            drain_some(got);
        });
    }

    void finish(int err, bool local) {
        end_stream(*stream_, err, [this, err, local] { done_(TransferOutcome{err, local, bytes_, dropped_}); });
    }

    std::unique_ptr<net::Stream> stream_;
    Fd file_;
    std::uint64_t offset_;
    bool ascii_;
    std::unique_ptr<UploadBudget> budget_;
    QuotaDrain drain_;
    fs::FilesBeingWritten::Mark writing_;
    bool pending_cr_ = false;
    bool draining_ = false;
    std::chrono::steady_clock::time_point drain_started_;
    std::uint64_t bytes_ = 0;
    std::uint64_t dropped_ = 0;
    std::vector<char> in_;
    Done done_;
};

}  // namespace

std::unique_ptr<Transfer> make_file_download(std::unique_ptr<net::Stream> stream, Fd file, std::uint64_t offset,
                                             std::uint64_t end, bool ascii, net::Stream::FileState state) {
    return std::make_unique<FileDownload>(std::move(stream), std::move(file), offset, end, ascii, state);
}

std::unique_ptr<Transfer> make_text_download(std::unique_ptr<net::Stream> stream, std::string text) {
    return std::make_unique<TextDownload>(std::move(stream), std::move(text));
}

std::unique_ptr<Transfer> make_file_upload(std::unique_ptr<net::Stream> stream, Fd file, std::uint64_t offset,
                                           bool ascii, std::unique_ptr<UploadBudget> budget, QuotaDrain drain,
                                           fs::FilesBeingWritten::Mark writing) {
    return std::make_unique<FileUpload>(std::move(stream), std::move(file), offset, ascii, std::move(budget), drain,
                                        std::move(writing));
}

std::unique_ptr<Transfer> make_piecewise_download(std::unique_ptr<net::Stream> stream, std::string first,
                                                  NextPiece next) {
    return std::make_unique<PiecewiseDownload>(std::move(stream), std::move(first), std::move(next));
}

}  // namespace ferry::proto
