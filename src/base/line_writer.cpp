#include "base/line_writer.hpp"

#include <utility>

namespace ferry {

LineWriter::~LineWriter() {
    stop();
    std::lock_guard lock(mutex_);
    install(nullptr);
}

void LineWriter::push(std::string line) {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return write_now(line);  // after the writer is gone (late in exit)
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        if (lines_.size() >= max_lines_) {
            ++dropped_;
            return;
        }
        lines_.push_back(std::move(line));
    }
    wake_.notify_one();
}

void LineWriter::switch_to(std::FILE* file) {
    std::lock_guard lock(mutex_);
    next_ = file;
    switching_ = true;
    if (!thread_.joinable()) install(file);
    wake_.notify_one();
}

void LineWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    stopped_ = true;
}

void LineWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || switching_ || !lines_.empty() || dropped_ > 0; });
        std::deque<std::string> batch;
        batch.swap(lines_);
        const std::uint64_t dropped = std::exchange(dropped_, 0);
        const bool done = stopping_;
        if (std::exchange(switching_, false)) install(next_);
        std::FILE* out = out_ ? out_ : stderr;
        lock.unlock();
        for (const auto& line : batch) std::fwrite(line.data(), 1, line.size(), out);
        if (dropped > 0) {
            const std::string note = note_dropped_(dropped);
            std::fwrite(note.data(), 1, note.size(), out);
        }
        std::fflush(out);
        lock.lock();
        if (done && lines_.empty()) return;
    }
}

void LineWriter::install(std::FILE* file) {
    if (out_ && out_ != file) std::fclose(out_);
    out_ = file;
}

void LineWriter::write_now(const std::string& line) {
    std::FILE* out = out_ ? out_ : stderr;
    std::fwrite(line.data(), 1, line.size(), out);
    std::fflush(out);
}

}  // namespace ferry
