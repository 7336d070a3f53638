#include "client/pipeline.hpp"

#include "client/errors.hpp"

namespace ferry::client {

BackgroundDigest::BackgroundDigest(DigestAlgo algo, std::string path, std::uint64_t prefix, std::size_t block_size)
    : algo_(algo), digest_(algo) {
    for (std::size_t i = 0; i < blocks; ++i) free_.emplace_back(block_size);
    thread_ = std::thread([this, path = std::move(path), prefix] { run(path, prefix); });
}

BackgroundDigest::~BackgroundDigest() {
    abandoned_ = true;
    stop();
}

void BackgroundDigest::stop() {
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<char> BackgroundDigest::take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !free_.empty(); });
    std::vector<char> block = std::move(free_.back());
    free_.pop_back();
    return block;
}

void BackgroundDigest::submit(std::vector<char> block, std::size_t used) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back({std::move(block), used});
    }
    changed_.notify_all();
}

void BackgroundDigest::run(std::string path, std::uint64_t prefix) {
    std::string prefix_error;
    if (prefix > 0) {
        // Re-read, not reused from the resume check: that one may have used another algorithm.
        try {
            digest_prefix_into(digest_, path, prefix, &abandoned_);
        } catch (const ClientError& failed) {
            prefix_error = failed.what();
        }
    }
    std::unique_lock lock(mutex_);
    if (!prefix_error.empty()) error_ = prefix_error;
    // Each round digests one queued block or ends: bounded by what the receive loop submits.
    for (;;) {
        changed_.wait(lock, [this] { return !queue_.empty() || closing_; });
        if (queue_.empty() || abandoned_) break;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        digest_.update(std::span<const char>(job.block.data(), job.used));
        lock.lock();
        free_.push_back(std::move(job.block));
        changed_.notify_all();
    }
}

LocalDigest BackgroundDigest::finish() {
    stop();  // the thread drains the queue before it sees closing_ with nothing left
    if (!error_.empty()) throw ClientError(error_);
    return {algo_, digest_.hex()};
}

}  // namespace ferry::client
