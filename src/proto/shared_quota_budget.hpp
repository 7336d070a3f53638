// The upload budget of a quota shared by several nodes (fs::UserQuota::shared()): each chunk is
// reserved in the database on the worker pool while the upload waits, then written, then settled.
#pragma once
#include "fs/quota.hpp"
#include "net/reactor.hpp"
#include "net/worker_pool.hpp"
#include "proto/transfer.hpp"

#include <chrono>
#include <memory>

namespace ferry::proto {

// When the quota is full but other uploads hold reservations, asks again every 50 ms for up to
// `wait` (they may commit less than they reserved) before granting 0.
std::unique_ptr<UploadBudget> make_shared_quota_budget(std::shared_ptr<fs::UserQuota> quota, net::Reactor& reactor,
                                                       net::WorkerPool& pool, std::chrono::milliseconds wait);

}  // namespace ferry::proto
