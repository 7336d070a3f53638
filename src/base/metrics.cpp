#include "base/metrics.hpp"

namespace ferry::metrics {

void Histogram::observe(std::chrono::steady_clock::duration took) {
    const double seconds = std::chrono::duration<double>(took).count();
    std::size_t bucket = 0;
    while (bucket < bounds.size() && seconds > bounds[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns > 0 ? ns : 0), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot snap;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        snap.cumulative[i] = running;
    }
    snap.count = running + buckets_[bounds.size()].load(std::memory_order_relaxed);
    snap.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return snap;
}

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace ferry::metrics
