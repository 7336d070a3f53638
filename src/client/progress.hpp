// Transfer progress on stderr: a one-line bar on a terminal (redrawn at most ~10 times a second and
// erased at the end), a plain line every few seconds, or nothing.
#pragma once
#include "client/options.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::client {

class BatchProgress;

class Progress {
public:
    // `done_before` bytes were already there (a resumed transfer): they count for the percentage
    // but not for the rate. With a `batch`, the bar is drawn above the batch's total.
    Progress(ProgressMode mode, std::string label, std::uint64_t total, std::uint64_t done_before,
             BatchProgress* batch = nullptr, std::size_t slot = 0);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(std::uint64_t done);  // absolute byte count, cheap to call per block
    void finish();                    // erases the bar; idempotent

    // Bytes moved in this run, and seconds since it started (for the summary line).
    std::uint64_t moved() const { return done_ - done_before_; }
    double seconds() const;

private:
    using Clock = std::chrono::steady_clock;
    void draw_bar();
    void print_line();
    std::string numbers() const;  // "45%  12.3 MiB/27.0 MiB  105.2 MiB/s  ETA 0:03"

    ProgressMode mode_;  // never automatic: resolved in the constructor
    std::string label_;
    std::uint64_t total_;
    std::uint64_t done_before_;
    std::uint64_t done_;
    Clock::time_point started_;
    Clock::time_point last_shown_;
    bool drawn_ = false;
    bool finished_ = false;
    BatchProgress* batch_;
    std::size_t slot_;
};

// The total of a many-file command (files, bytes, rate, ETA) on the bottom line, the bars of the
// files under way (one per transfer slot) stacked above it; in plain mode a line of its own every
// few seconds. Shared by the transfer threads of -j: every call takes its lock.
class BatchProgress {
public:
    BatchProgress(ProgressMode mode, std::string label, std::size_t files, std::uint64_t bytes, std::size_t slots = 1);
    ~BatchProgress();
    BatchProgress(const BatchProgress&) = delete;
    BatchProgress& operator=(const BatchProgress&) = delete;

    // The file in `slot` shows `file_line` (without control characters) and has `file_done` bytes.
    void update(std::size_t slot, const std::string& file_line, std::uint64_t file_done);
    void print_plain(std::uint64_t extra_done);  // plain mode: the total, every few seconds
    // The file in `slot` is done with (moved, skipped or failed): its whole size counts as done.
    void file_finished(std::size_t slot, std::uint64_t size);
    // Prints `line` on stdout above the bars (or on stderr when `error`), which are redrawn.
    void say(const std::string& line, bool error = false);
    void clear();  // erases the bars

private:
    using Clock = std::chrono::steady_clock;
    struct Slot {
        std::string line;
        std::uint64_t done = 0;
    };
    std::string numbers() const;
    void draw();   // lock held
    void erase();  // lock held

    mutable std::mutex mutex_;
    ProgressMode mode_;
    std::string label_;
    std::size_t files_;
    std::uint64_t bytes_;
    std::size_t files_done_ = 0;
    std::uint64_t bytes_done_ = 0;
    std::vector<Slot> slots_;
    Clock::time_point started_;
    Clock::time_point last_drawn_;
    Clock::time_point last_printed_;
    std::size_t drawn_lines_ = 0;  // the cursor is at the start of the first of them
};

// The label and the bar filled to done/total in `width` columns (what draw_bar shows).
std::string bar_text(std::string label, const std::string& numbers, std::uint64_t done, std::uint64_t total);

// "0:03", "1:02:03", "--:--" for unknown.
std::string format_duration(double seconds);
// "105.2 MiB/s"
std::string format_rate(double bytes_per_second);

}  // namespace ferry::client
