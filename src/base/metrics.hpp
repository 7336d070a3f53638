// Process-wide counters and histograms for the Prometheus endpoint (metrics_listen): relaxed
// atomics bumped where the event happens, read by the scrape (app/metrics_text.cpp). Cheap enough
// to keep on whether or not anyone scrapes.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace ferry::metrics {

struct Counter {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n = 1) { value.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// Durations in fixed buckets from 50 us to 10 s (what a reactor turn or a pool wait can take,
// from healthy to stalled storage).
class Histogram {
public:
    static constexpr std::array<double, 12> bounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                   0.005,   0.01,   0.05,    0.1,    1.0,   10.0};
    void observe(std::chrono::steady_clock::duration took);

    struct Snapshot {
        std::array<std::uint64_t, bounds.size()> cumulative{};  // observations <= bounds[i]
        std::uint64_t count = 0;
        double sum_seconds = 0;
    };
    Snapshot snapshot() const;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // the last: above every bound
    std::atomic<std::uint64_t> sum_ns_{0};
};

struct Registry {
    Counter logins_ok;
    Counter logins_failed;
    Counter logins_cached;          // of logins_ok: the password as verified lately (auth_cache_ttl)
    Counter defender_failures;      // failed logins the defender counted (not from trusted networks)
    Counter accounts_locked;        // by the defender (account_lock_threshold)
    Counter tls_control_handshakes;
    Counter tls_data_handshakes;
    Counter tls_data_resumed;       // data connections that resumed the control session
    Counter bans;
    Counter uploads_complete;
    Counter uploads_failed;
    Counter downloads_complete;
    Counter downloads_failed;
    Counter bytes_received;  // uploads
    Counter bytes_sent;      // downloads
    Counter quota_refusals;  // 552
    Counter sessions_opened;
    Counter hook_events_dropped;  // the hook queue was full
    Counter hook_failures;        // a hook that exited non-zero, timed out or got no 2xx
    std::atomic<std::int64_t> sessions{0};  // connected now
    std::array<Counter, 200> refusals{};    // replies 400..599 sent, by code
    Histogram reactor_turn;    // the work of one reactor turn: how long other sessions of it waited
    Histogram cpu_pool_wait;   // a job's time in the CPU pool's queue
    Histogram io_pool_wait;    // the same for the I/O pool
};

Registry& registry();

}  // namespace ferry::metrics
