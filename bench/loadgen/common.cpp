#include "common.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <stdexcept>

namespace bench {

Options::Options(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        std::string key = argv[i];
        if (key.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument: " + key);
        key.erase(0, 2);
        bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
        values_[key] = has_value ? argv[++i] : "1";
    }
}

std::string Options::text(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
}

std::int64_t Options::number(const std::string& key, std::int64_t fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::stoll(it->second);
}

Target target_from(const Options& options) {
    Target t;
    t.host = options.text("host", t.host);
    t.port = static_cast<int>(options.number("port", t.port));
    t.user = options.text("user", "bench");
    t.password = options.text("password", "");
    return t;
}

ResultLine& ResultLine::add(const std::string& key, const std::string& value) {
    // Values are single tokens: spaces become '_', empty becomes '-'.
    std::string token = value.empty() ? "-" : value;
    for (auto& c : token)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';
    text_ += " " + key + "=" + token;
    return *this;
}

ResultLine& ResultLine::add(const std::string& key, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", value);
    return add(key, std::string(buf));
}

ResultLine& ResultLine::add(const std::string& key, std::int64_t value) { return add(key, std::to_string(value)); }

void ResultLine::print() const { std::cout << text_ << std::endl; }

std::string wait_for_harness() {
    std::string line;
    if (!std::getline(std::cin, line)) return "";
    return line;
}

void Latencies::add(std::chrono::steady_clock::duration d) {
    samples_.push_back(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    sorted_ = false;
}

double Latencies::total_ms() const {
    std::int64_t sum = 0;
    for (auto us : samples_) sum += us;
    return static_cast<double>(sum) / 1000.0;
}

double Latencies::percentile_ms(double p) {
    if (samples_.empty()) return -1;
    if (!sorted_) std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples_.size())));
    rank = std::clamp<std::size_t>(rank, 1, samples_.size());
    return static_cast<double>(samples_[rank - 1]) / 1000.0;
}

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

}  // namespace bench
