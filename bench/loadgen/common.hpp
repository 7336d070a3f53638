// Shared bits of the load generator: command-line options, the target server, result output and
// latency statistics.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bench {

// "--key value" pairs after the subcommand; flags without a value read as "1".
class Options {
public:
    Options(int argc, char** argv, int first);
    std::string text(const std::string& key, const std::string& fallback = "") const;
    std::int64_t number(const std::string& key, std::int64_t fallback) const;
    bool has(const std::string& key) const { return values_.count(key) != 0; }

private:
    std::map<std::string, std::string> values_;
};

struct Target {
    std::string host = "127.0.0.1";
    int port = 21;
    std::string user;
    std::string password;
};
Target target_from(const Options& options);

// One machine-readable line: "RESULT key=value key=value ...", flushed at once so the harness
// can react to it while we wait.
class ResultLine {
public:
    ResultLine& add(const std::string& key, const std::string& value);
    ResultLine& add(const std::string& key, double value);
    ResultLine& add(const std::string& key, std::int64_t value);
    void print() const;

private:
    std::string text_ = "RESULT";
};

// Blocks until the harness writes a line on stdin; returns it without the newline ("" on EOF).
std::string wait_for_harness();

// Latencies in microseconds; percentiles by nearest rank.
class Latencies {
public:
    void add(std::chrono::steady_clock::duration d);
    double percentile_ms(double p);
    double total_ms() const;  // the sum of all samples
    std::size_t count() const { return samples_.size(); }

private:
    std::vector<std::int64_t> samples_;
    bool sorted_ = false;
};

// Raises RLIMIT_NOFILE to the hard limit: the idle workload holds thousands of sockets.
void raise_fd_limit();

}  // namespace bench
