// Lines are stamped by the thread that logs them and written by one writer thread, so that no
// reactor waits for the disk (a log file on NFS, a full pipe on stderr) or for another thread's
// fflush under a lock. The queue is bounded: past max_queued_lines new lines are dropped and
// counted, and the writer says how many as soon as it can.
#include "base/log.hpp"

#include "sys/file.hpp"
#include "sys/time.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace ferry::log {
namespace {

// About 10 MB of lines at most; a burst this long means the disk stopped, not a busy server.
constexpr std::size_t max_queued_lines = 65536;

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "?";
}

std::string stamped(LogLevel level, std::string_view line) {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
    const std::tm utc = sys::utc_time(ms / 1000);
    char stamp[48];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03ldZ ", static_cast<long>(ms % 1000));
    std::string text;
    text.reserve(line.size() + 40);
    text.append(stamp).append(level_name(level)).append(" ").append(line).append("\n");
    return text;
}

class Writer {
public:
    void push(std::string line) {
        {
            std::lock_guard lock(mutex_);
            if (stopped_) return write_now(line);  // after the writer is gone (late in exit)
            if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
            if (lines_.size() >= max_queued_lines) {
                ++dropped_;
                return;
            }
            lines_.push_back(std::move(line));
        }
        wake_.notify_one();
    }

    // The writer takes `file` (nullptr = stderr) before its next batch and closes the old one.
    void switch_to(FILE* file) {
        std::lock_guard lock(mutex_);
        next_ = file;
        switching_ = true;
        if (!thread_.joinable()) install(file);
        wake_.notify_one();
    }

    // Everything queued is written, then the thread ends (at exit).
    void stop() {
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

private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || switching_ || !lines_.empty() || dropped_ > 0; });
            std::deque<std::string> batch;
            batch.swap(lines_);
            const std::uint64_t dropped = std::exchange(dropped_, 0);
            const bool done = stopping_;
            if (std::exchange(switching_, false)) install(next_);
            FILE* out = out_ ? out_ : stderr;
            lock.unlock();
            for (const auto& line : batch) std::fwrite(line.data(), 1, line.size(), out);
            if (dropped > 0) {
                const std::string note = stamped(LogLevel::warn, std::to_string(dropped) +
                                                                     " log lines dropped: the log could not keep up");
                std::fwrite(note.data(), 1, note.size(), out);
            }
            std::fflush(out);
            lock.lock();
            if (done && lines_.empty()) return;
        }
    }

    void install(FILE* file) {  // under mutex_, and only where nothing writes to out_ meanwhile
        if (out_ && out_ != file) std::fclose(out_);
        out_ = file;
    }

    void write_now(const std::string& line) {  // under mutex_
        FILE* out = out_ ? out_ : stderr;
        std::fwrite(line.data(), 1, line.size(), out);
        std::fflush(out);
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> lines_;  // guarded by mutex_
    std::uint64_t dropped_ = 0;      // guarded by mutex_
    FILE* out_ = nullptr;            // the writer's (nullptr = stderr); changed only between batches
    FILE* next_ = nullptr;           // guarded by mutex_: what switch_to asked for
    bool switching_ = false;         // guarded by mutex_
    bool stopping_ = false;          // guarded by mutex_
    bool stopped_ = false;           // guarded by mutex_
    std::thread thread_;
};

// Never destroyed: a thread still running at exit (one that is detached) may log after the
// writer thread is gone, and then writes its line itself. At exit the queue is written out.
Writer& writer() {
    static Writer* const instance = [] {
        auto* made = new Writer;
        std::atexit([] { writer().stop(); });
        return made;
    }();
    return *instance;
}

LogLevel g_min = LogLevel::info;

}  // namespace

bool open(const std::string& path) {
    if (path.empty() || path == "-") {
        writer().switch_to(nullptr);  // closes a file opened before
        return true;
    }
    FILE* f = sys::open_log_file(path);
    if (!f) return false;
    writer().switch_to(f);
    return true;
}

void set_min_level(LogLevel level) { g_min = level; }

void write(LogLevel level, std::string_view line) {
    if (level < g_min) return;
    writer().push(stamped(level, line));
}

void finish() { writer().stop(); }

}  // namespace ferry::log
