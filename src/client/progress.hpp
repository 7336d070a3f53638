// Transfer progress on stderr: a one-line bar on a terminal (redrawn at most ~10 times a second and
// erased at the end), a plain line every few seconds, or nothing.
#pragma once
#include "client/options.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace ferry::client {

class Progress {
public:
    // `done_before` bytes were already there (a resumed transfer): they count for the percentage
    // but not for the rate.
    Progress(ProgressMode mode, std::string label, std::uint64_t total, std::uint64_t done_before);
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
};

// "0:03", "1:02:03", "--:--" for unknown.
std::string format_duration(double seconds);
// "105.2 MiB/s"
std::string format_rate(double bytes_per_second);

}  // namespace ferry::client
