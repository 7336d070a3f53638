#include "proto/transfer.hpp"

#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <vector>

namespace ferry::proto {
namespace {

// FTPS clients take a TLS data connection closed without close_notify for a truncated transfer:
// a complete one ends with close_notify, then `done`. Plain streams finish at once.
void end_stream(net::Stream& stream, Error err, std::function<void()> done) {
    if (err || !stream.is_tls()) return done();
    stream.shutdown_tls([done = std::move(done)](Error, std::uint64_t) { done(); });
}

// An upload the server stops (quota, a write error: FailureSide::local) ends its TLS data
// connection properly too: the client is waiting for our close_notify before it reads the
// refusal on the control connection (Python's FTP_TLS.storbinary unwraps), and a bare close makes
// it fail there and read the 552 as the answer to its next command. A broken connection has none.
void end_upload_stream(net::Stream& stream, Error err, FailureSide side, std::function<void()> done) {
    end_stream(stream, side == FailureSide::local ? Error{} : err, std::move(done));
}

using ReadResult = Result<std::size_t>;

constexpr std::uint64_t kUploadChunk = 4u << 20;   // bytes granted per quota check
constexpr std::size_t kAsciiBlock = 256u << 10;    // buffer for an upload's line-end conversion
constexpr std::size_t kFileBlock = 256u << 10;     // a download's reads when it goes through memory
constexpr std::size_t kDrainBlock = 64u << 10;     // reads of what is dropped after the quota

// On the I/O pool: reads [offset, offset + count) so that the page cache holds it for the kernel's
// send that follows. A read error is left to that send to report.
void bring_into_cache(const File& file, std::uint64_t offset, std::uint64_t count) {
    std::vector<char> buffer(kFileBlock);
    for (std::uint64_t done = 0; done < count;) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(count - done, buffer.size()));
        const auto got = sys::read_at(file, {buffer.data(), want}, offset + done);
        if (!got || *got == 0) return;
        done += *got;
    }
}

FailureSide side_of_write_error(Error err) {
    const bool local = err == Errc::quota || err == Errc::no_space || err == Errc::too_large || err == Errc::io ||
                       err == Errc::bad_handle || err == Errc::read_only;
    return local ? FailureSide::local : FailureSide::connection;
}

class FileDownload final : public Transfer {
public:
    FileDownload(std::unique_ptr<net::Stream> stream, File file, std::uint64_t offset, std::uint64_t end,
                 DataType type, OffReactor storage, net::Stream::FileState state, std::unique_ptr<Pacer> pacer)
        : stream_(std::move(stream)), file_(std::make_shared<File>(std::move(file))), offset_(offset), end_(end),
          ascii_(type == DataType::ascii), state_(state), storage_(std::move(storage)), pacer_(std::move(pacer)) {}
    // A read on the pool may still hold the file; whichever lets go last closes it, off the reactor.
    ~FileDownload() override {
        storage_([file = std::move(file_)]() mutable { file.reset(); }, [] {});
    }

    void start(Done done) override {
        done_ = std::move(done);
        if (offset_ >= end_) return finish_from_loop({}, FailureSide::connection);
        if (stream_->is_tls() && !ascii_) log_tls_path();
        if (ascii_ || copies_through_memory()) return read_block();
        send_binary();
    }
    std::uint64_t bytes() const override { return bytes_ + stream_->in_flight(); }

private:
    // Whether the stream would copy the file through memory anyway: TLS that OpenSSL seals, or a
    // file an upload is writing under kTLS (never SSL_sendfile). Otherwise the kernel sends the
    // file itself: sendfile (TransmitFile on Windows), SSL_sendfile under kTLS.
    bool copies_through_memory() const {
        return stream_->is_tls() && (!stream_->ktls_send() || state_ == net::Stream::FileState::being_written);
    }

    // Once per data connection (= per transfer): whether the download stayed zero-copy.
    void log_tls_path() const {
        const bool ktls = stream_->ktls_send();
        const bool changing = state_ == net::Stream::FileState::being_written;
        log::info(cat("tls: send_file to ", stream_->peer_address().to_string(), " uses ",
                      copies_through_memory() ? "SSL_write from buffer" : "kTLS sendfile",
                      ktls && changing ? " (the file is being uploaded: no kTLS sendfile)" : ""));
    }

    // A piece the page cache does not hold is read on the I/O pool before the kernel sends it.
    // Under a rate limit the range goes slice by slice, each when the account's bucket allows.
    void send_binary() {
        if (!pacer_) return send_range(end_ - offset_);
        pacer_->next(end_ - offset_, [this](std::uint64_t count) { send_range(count); });
    }

    void send_range(std::uint64_t count) {
        auto bring = [storage = storage_, file = file_](std::uint64_t offset, std::uint64_t count,
                                                         std::function<void()> then) {
            storage([file, offset, count] { bring_into_cache(*file, offset, count); }, std::move(then));
        };
        stream_->send_file(*file_, offset_, count, [this, count](Error err, std::uint64_t n) {
            bytes_ += n;
            offset_ += n;
            if (pacer_ && n < count) pacer_->unused(count - n);
            if (err || !pacer_ || n < count || offset_ >= end_) return finish(err, FailureSide::connection);
            send_binary();
        }, state_, std::move(bring));
    }

    // Everything else (TLS that OpenSSL seals, TYPE A's line ends) goes block by block through
    // memory. A block the page cache holds is read here; one that would wait for storage is read
    // on the I/O pool, so the reactor never waits for a disk or a network file system (the file
    // and the buffer are shared with that job, which may outlive this transfer).
    void read_block() {
        const std::uint64_t wanted = std::min<std::uint64_t>(kFileBlock, end_ - offset_);
        if (wanted == 0) return finish({}, FailureSide::connection);
        if (!pacer_) return read_block_of(wanted);
        pacer_->next(wanted, [this](std::uint64_t allowed) { read_block_of(allowed); });
    }

    void read_block_of(std::uint64_t size) {
        block_->resize(size);
        const auto cached = sys::read_cached_at(*file_, *block_, offset_);
        if (cached || cached.error() != Errc::would_block) return send_block(cached);
        auto got = std::make_shared<ReadResult>(std::size_t{0});
        storage_([file = file_, block = block_, offset = offset_, got] { *got = sys::read_at(*file, *block, offset); },
                 lifetime_.guard([this, got] { send_block(*got); }));
    }

    void send_block(const ReadResult& got) {
        if (!got) return finish(got.error(), FailureSide::local);
        if (*got == 0) return finish({}, FailureSide::connection);  // the file ended early
        offset_ += *got;
        const std::span<const char> read(block_->data(), *got);
        stream_->write_all(ascii_ ? to_crlf(read) : read, [this](Error err, std::uint64_t n) {
            bytes_ += n;
            if (err) return finish(err, FailureSide::connection);
            read_block();
        });
    }

    // LF -> CR LF (a CR already before the LF is kept as it is), into out_.
    std::span<const char> to_crlf(std::span<const char> raw) {
        out_.clear();
        for (const char c : raw) {
            if (c == '\n' && !last_was_cr_) out_.push_back('\r');
            last_was_cr_ = c == '\r';
            out_.push_back(c);
        }
        return out_;
    }

    void finish(Error err, FailureSide side) {
        end_stream(*stream_, err, [this, err, side] { done_(TransferOutcome{err, side, bytes_}); });
    }
    // Nothing to send: an empty write still completes from the loop, never inside start().
    void finish_from_loop(Error err, FailureSide side) {
        stream_->write_all({}, [this, err, side](Error, std::uint64_t) { finish(err, side); });
    }

    std::unique_ptr<net::Stream> stream_;
    std::shared_ptr<File> file_;  // shared with a read on the I/O pool
    std::uint64_t offset_;
    std::uint64_t end_;  // where sending stops (the caller clamped it to the file's size)
    bool ascii_;
    net::Stream::FileState state_;
    OffReactor storage_;
    std::shared_ptr<std::vector<char>> block_ = std::make_shared<std::vector<char>>();  // read_block's
    std::unique_ptr<Pacer> pacer_;  // the account's download rate, if it has one
    Lifetime lifetime_;  // a read on the pool finds the transfer gone
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
            stream_->write_all({}, [this](Error err, std::uint64_t) {
                end_stream(*stream_, err, [this, err] { done_(TransferOutcome{err, FailureSide::connection, 0}); });
            });
            return;
        }
        stream_->write_all(text_, [this](Error err, std::uint64_t n) {
            bytes_ = n;
            end_stream(*stream_, err, [this, err, n] { done_(TransferOutcome{err, FailureSide::connection, n}); });
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
        stream_->write_all(text_, [this, last](Error err, std::uint64_t n) {
            bytes_ += n;
            if (err || last) return finish(err, FailureSide::connection);
            next_(lifetime_.guard([this](Error next_err, std::string text) {
                if (next_err) return finish(next_err, FailureSide::local);
                text_ = std::move(text);
                send();
            }));
        });
    }

    void finish(Error err, FailureSide side) {
        end_stream(*stream_, err, [this, err, side] { done_(TransferOutcome{err, side, bytes_}); });
    }

    std::unique_ptr<net::Stream> stream_;
    std::string text_;
    NextPiece next_;
    std::uint64_t bytes_ = 0;
    Done done_;
    Lifetime lifetime_;  // pieces made on the pool check it
};

class FileUpload final : public Transfer {
public:
    FileUpload(std::unique_ptr<net::Stream> stream, File file, std::uint64_t offset, DataType type,
               std::unique_ptr<UploadBudget> budget, QuotaDrain drain, OffReactor storage,
               fs::FilesBeingWritten::Mark writing, std::shared_ptr<UploadDigest> digest)
        : stream_(std::move(stream)), file_(std::move(file)), offset_(offset), ascii_(type == DataType::ascii),
          budget_(std::move(budget)), drain_(drain), storage_(std::move(storage)), writing_(std::move(writing)),
          digest_(std::move(digest)) {}
    ~FileUpload() override {
        if (digest_) digest_->finish(false);  // aborted: nothing is kept (a no-op after finish)
        // Cut in the middle of a chunk (ABOR, data timeout, shutdown): its completion never runs,
        // so the bytes it wrote are counted here and the rest of the reservation is given back.
        if (unsettled_) settle(unsettled_, ascii_ ? 0 : std::min(unsettled_, stream_->in_flight()));
        if (file_) storage_([file = std::make_shared<File>(std::move(file_))] { file->reset(); }, [] {});
    }

    void start(Done done) override {
        done_ = std::move(done);
        next_chunk();
    }
    std::uint64_t bytes() const override { return bytes_ + (draining_ ? 0 : stream_->in_flight()); }
    std::uint64_t progress() const override { return bytes() + dropped_ + (draining_ ? stream_->in_flight() : 0); }
    bool over_quota() const override { return draining_; }

private:
    void settle(std::uint64_t granted, std::uint64_t used) {
        unsettled_ = 0;
        if (budget_) budget_->settle(granted, used);
    }

    void next_chunk() {
        const std::uint64_t wanted = ascii_ ? kAsciiBlock : kUploadChunk;
        if (!budget_) return receive_chunk(wanted);
        budget_->grant(wanted, [this](Error err, std::uint64_t granted) {
            if (err) return finish(err, FailureSide::local);
            if (granted == 0) return check_nothing_more();
            receive_chunk(granted);
        });
    }

    void receive_chunk(std::uint64_t granted) {
        unsettled_ = granted;
        if (ascii_) return receive_ascii(granted);
        stream_->recv_to_file(file_, offset_, granted, [this, granted](Error err, std::uint64_t n) {
            settle(granted, n);
            offset_ += n;
            bytes_ += n;
            if (digest_ && n) digest_->written(offset_);
            if (err) return finish(err, side_of_write_error(err));
            if (n < granted) return finish({}, FailureSide::connection);  // the client closed: complete
            next_chunk();
        });
    }

    // CR LF -> LF. A CR at the end of a block waits for the next block to see what follows it.
    void receive_ascii(std::uint64_t granted) {
        in_.resize(granted < kAsciiBlock ? granted : kAsciiBlock);
        stream_->read_some(in_, [this, granted](Error err, std::uint64_t n) {
            if (err || n == 0) {
                // A CR held back at the end of the last block is data after all: written within
                // this chunk's grant (at least one byte), counted, and its write error reported.
                const bool final_cr = !err && pending_cr_;
                const Status written = final_cr ? write_out("\r") : Status{};
                settle(granted, final_cr && !written ? 1 : 0);
                if (written) return finish(written, FailureSide::local);
                return finish(err, FailureSide::connection);
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
            const Status written = write_out(out);
            settle(granted, out.size());
            if (written) return finish(written, FailureSide::local);
            next_chunk();
        });
    }

    // The same loop as the binary path's (sys::write_all_at): interrupted and short writes retried.
    Status write_out(std::string_view data) { return sys::write_received_at(file_, data, offset_, offset_); }

    // The budget is spent: the upload is fine only if the client has nothing more to send.
    void check_nothing_more() {
        in_.resize(kDrainBlock);
        stream_->read_some(in_, [this](Error err, std::uint64_t n) {
            if (err) return finish(err, FailureSide::connection);
            if (n == 0) return finish({}, FailureSide::connection);
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
        if (past_bounds) return finish(Errc::quota, FailureSide::local);
        stream_->read_some(in_, [this](Error err, std::uint64_t got) {
            if (err || got == 0) return finish(Errc::quota, FailureSide::local);
            drain_some(got);
        });
    }

    void finish(Error err, FailureSide side) {
        end_upload_stream(*stream_, err, side, [this, err, side] { close_file(err, side); });
    }

    // Closed before the reply, off the reactor: on NFS close writes back what the page cache still
    // holds and reports a failure then (EIO, EDQUOT), which a 226 must not hide; the digest is kept
    // only for bytes that made it.
    void close_file(Error err, FailureSide side) {
        auto closed = std::make_shared<Status>();
        storage_([file = std::make_shared<File>(std::move(file_)), closed] { *closed = sys::close(*file); },
                 lifetime_.guard([this, err, side, closed]() mutable {
                     if (!err && *closed) {
                         err = *closed;
                         side = FailureSide::local;
                         log::warn(cat("upload: closing the file failed: ", err.message()));
                     }
                     if (digest_) digest_->finish(!err);
                     done_(TransferOutcome{err, side, bytes_, dropped_});
                 }));
    }

    std::unique_ptr<net::Stream> stream_;
    File file_;
    std::uint64_t offset_;
    bool ascii_;
    std::unique_ptr<UploadBudget> budget_;
    QuotaDrain drain_;
    OffReactor storage_;
    fs::FilesBeingWritten::Mark writing_;
    std::shared_ptr<UploadDigest> digest_;
    bool pending_cr_ = false;
    bool draining_ = false;
    std::uint64_t unsettled_ = 0;  // granted for the chunk being received, until settled
    std::chrono::steady_clock::time_point drain_started_;
    std::uint64_t bytes_ = 0;
    std::uint64_t dropped_ = 0;
    std::vector<char> in_;
    Done done_;
    Lifetime lifetime_;  // the close on the pool finds the transfer gone
};

}  // namespace

std::unique_ptr<Transfer> make_file_download(std::unique_ptr<net::Stream> stream, File file, std::uint64_t offset,
                                             std::uint64_t end, DataType type, OffReactor storage,
                                             net::Stream::FileState state, std::unique_ptr<Pacer> pacer) {
    return std::make_unique<FileDownload>(std::move(stream), std::move(file), offset, end, type, std::move(storage),
                                          state, std::move(pacer));
}

std::unique_ptr<Transfer> make_text_download(std::unique_ptr<net::Stream> stream, std::string text) {
    return std::make_unique<TextDownload>(std::move(stream), std::move(text));
}

std::unique_ptr<Transfer> make_file_upload(std::unique_ptr<net::Stream> stream, File file, std::uint64_t offset,
                                           DataType type, std::unique_ptr<UploadBudget> budget, QuotaDrain drain,
                                           OffReactor storage, fs::FilesBeingWritten::Mark writing,
                                           std::shared_ptr<UploadDigest> digest) {
    return std::make_unique<FileUpload>(std::move(stream), std::move(file), offset, type, std::move(budget), drain,
                                        std::move(storage), std::move(writing), std::move(digest));
}

std::unique_ptr<Transfer> make_piecewise_download(std::unique_ptr<net::Stream> stream, std::string first,
                                                  NextPiece next) {
    return std::make_unique<PiecewiseDownload>(std::move(stream), std::move(first), std::move(next));
}

}  // namespace ferry::proto
