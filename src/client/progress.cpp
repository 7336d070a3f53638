#include "client/progress.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/terminal.hpp"
#include "sys/terminal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace ferry::client {
namespace {

constexpr auto bar_interval = std::chrono::milliseconds(100);  // at most ~10 redraws a second
constexpr auto plain_interval = std::chrono::seconds(2);

std::size_t terminal_width() {
    const unsigned columns = sys::terminal_columns();
    return columns >= 20 ? columns : 80;
}

ProgressMode resolve(ProgressMode mode) {
    if (mode != ProgressMode::automatic) return mode;
    if (!stderr_is_terminal()) return ProgressMode::none;
    // A console without VT sequences (Windows before 10) gets a line every few seconds instead.
    return sys::enable_terminal_sequences(sys::StdStream::error) ? ProgressMode::bar : ProgressMode::plain;
}

}  // namespace

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 360000) return "--:--";
    const auto whole = static_cast<long>(seconds + 0.5);
    char text[32];
    if (whole >= 3600) {
        std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", whole / 3600, whole / 60 % 60, whole % 60);
    } else {
        std::snprintf(text, sizeof text, "%ld:%02ld", whole / 60, whole % 60);
    }
    return text;
}

std::string format_rate(double bytes_per_second) {
    if (!std::isfinite(bytes_per_second) || bytes_per_second < 0) bytes_per_second = 0;
    return format_size(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

Progress::Progress(ProgressMode mode, std::string label, std::uint64_t total, std::uint64_t done_before,
                   BatchProgress* batch, std::size_t slot)
    : mode_(resolve(mode)),
      label_(std::move(label)),
      total_(total),
      done_before_(done_before),
      done_(done_before),
      started_(Clock::now()),
      last_shown_(started_),
      batch_(batch),
      slot_(slot) {}

Progress::~Progress() { finish(); }

double Progress::seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

std::string Progress::numbers() const {
    const double elapsed = seconds();
    const double rate = elapsed > 0 ? static_cast<double>(done_ - done_before_) / elapsed : 0;
    const double left = total_ > done_ ? static_cast<double>(total_ - done_) : 0;
    // total 0 = size unknown (a server without SIZE): no percentage, no ETA.
    const std::string percent =
        total_ ? std::to_string(std::min<std::uint64_t>(100, done_ * 100 / total_)) + "%" : "--%";
    char text[160];
    std::snprintf(text, sizeof text, "%4s  %s/%s  %s  ETA %s", percent.c_str(), format_size(done_).c_str(),
                  total_ ? format_size(total_).c_str() : "?", format_rate(rate).c_str(),
                  format_duration(rate > 0 && total_ ? left / rate : -1).c_str());
    return text;
}

void Progress::update(std::uint64_t done) {
    done_ = done;
    if (mode_ == ProgressMode::none || finished_) return;
    const auto now = Clock::now();
    // The bar shows up at once, then at most every bar_interval.
    if (mode_ == ProgressMode::bar && (!drawn_ || now - last_shown_ >= bar_interval)) {
        last_shown_ = now;
        draw_bar();
    } else if (mode_ == ProgressMode::plain && now - last_shown_ >= plain_interval) {
        last_shown_ = now;
        print_line();
    }
}

std::string bar_text(std::string label, const std::string& tail, std::uint64_t done, std::uint64_t total) {
    const std::size_t width = terminal_width() - 1;  // never touch the last column: no wrap
    const std::size_t room_for_label = width > tail.size() + 14 ? width - tail.size() - 14 : 8;
    if (label.size() > room_for_label) label = "..." + label.substr(label.size() - (room_for_label - 3));
    // What is left becomes the bar itself.
    const std::size_t used = label.size() + tail.size() + 4;
    const std::size_t bar_width = width > used + 2 ? std::min<std::size_t>(width - used - 2, 40) : 0;
    std::string bar;
    if (bar_width >= 5) {
        const std::size_t filled = total ? static_cast<std::size_t>(bar_width * std::min(done, total) / total) : bar_width;
        bar = "[" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "] ";
    }
    return label + "  " + bar + tail;
}

void Progress::draw_bar() {
    const std::string line = bar_text(label_, numbers(), done_, total_);
    drawn_ = true;
    if (batch_) return batch_->update(slot_, line, done_);
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    std::fflush(stderr);
}

void Progress::print_line() {
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), numbers().c_str());
    std::fflush(stderr);
    if (batch_) batch_->print_plain(done_);
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    if (batch_) return;  // the batch redraws without this file's bar when the file is counted
    if (drawn_) {
        std::fputs("\r\033[K", stderr);
        std::fflush(stderr);
    }
}

BatchProgress::BatchProgress(ProgressMode mode, std::string label, std::size_t files, std::uint64_t bytes,
                             std::size_t slots)
    : mode_(resolve(mode)),
      label_(std::move(label)),
      files_(files),
      bytes_(bytes),
      slots_(std::max<std::size_t>(slots, 1)),
      started_(Clock::now()),
      last_drawn_(started_),
      last_printed_(started_) {}

BatchProgress::~BatchProgress() { clear(); }

// "files 12/1000  45%  12.3 MiB/27.0 MiB  105.2 MiB/s  ETA 0:03"
std::string BatchProgress::numbers() const {
    std::uint64_t done = bytes_done_;
    for (const Slot& slot : slots_) done += slot.done;
    const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    const double left = bytes_ > done ? static_cast<double>(bytes_ - done) : 0;
    const std::string percent = bytes_ ? std::to_string(std::min<std::uint64_t>(100, done * 100 / bytes_)) + "%" : "--%";
    char text[200];
    std::snprintf(text, sizeof text, "files %zu/%zu  %4s  %s/%s  %s  ETA %s", files_done_, files_, percent.c_str(),
                  format_size(done).c_str(), format_size(bytes_).c_str(), format_rate(rate).c_str(),
                  format_duration(rate > 0 ? left / rate : -1).c_str());
    return text;
}

void BatchProgress::update(std::size_t slot, const std::string& file_line, std::uint64_t file_done) {
    const std::lock_guard lock(mutex_);
    Slot& mine = slots_.at(slot);
    mine.line = file_line;
    mine.done = file_done;
    const auto now = Clock::now();
    if (mode_ != ProgressMode::bar || (drawn_lines_ && now - last_drawn_ < bar_interval)) return;
    last_drawn_ = now;
    draw();
}

void BatchProgress::print_plain(std::uint64_t) {
    const std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (mode_ != ProgressMode::plain || now - last_printed_ < plain_interval) return;
    last_printed_ = now;
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), numbers().c_str());
    std::fflush(stderr);
}

void BatchProgress::file_finished(std::size_t slot, std::uint64_t size) {
    const std::lock_guard lock(mutex_);
    ++files_done_;
    bytes_done_ += size;
    slots_.at(slot) = Slot{};
}

// Each file's bar that has one, then the total; the cursor goes back to the first line.
void BatchProgress::draw() {
    erase();
    std::uint64_t done = bytes_done_;
    std::string text;
    for (const Slot& slot : slots_) {
        done += slot.done;
        if (slot.line.empty()) continue;
        text += slot.line + "\033[K\n";
        ++drawn_lines_;
    }
    text += bar_text(label_, numbers(), done, bytes_) + "\033[K\r";
    if (drawn_lines_) text += cat("\033[", drawn_lines_, "A");
    ++drawn_lines_;
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
}

void BatchProgress::erase() {
    if (!drawn_lines_) return;
    std::fputs("\r\033[J", stderr);  // from the first line to the end of the screen
    std::fflush(stderr);
    drawn_lines_ = 0;
}

void BatchProgress::say(const std::string& line, bool error) {
    const std::lock_guard lock(mutex_);
    const bool redraw = drawn_lines_ > 0;
    erase();
    (error ? std::cerr : std::cout) << line << "\n";
    (error ? std::cerr : std::cout).flush();
    if (redraw) draw();
}

void BatchProgress::clear() {
    const std::lock_guard lock(mutex_);
    erase();
}

}  // namespace ferry::client
