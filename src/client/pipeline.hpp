// Hashing a download while it arrives, for targets that can't be read back (/dev/null, a pipe):
// the receive loop hands each filled block to a helper thread that feeds the digest, and waits
// only when every block is still in flight. (A regular file is hashed after the transfer instead,
// while the server computes its HASH: on two cores, hashing during the transfer only slows it.)
#pragma once
#include "client/digest.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry::client {

struct LocalDigest {
    DigestAlgo algo;
    std::string hex;
};

class BackgroundDigest {
public:
    // The first `prefix` bytes of `path` (a resumed download) are digested first, on the thread.
    BackgroundDigest(DigestAlgo algo, std::string path, std::uint64_t prefix, std::size_t block_size);
    ~BackgroundDigest();
    BackgroundDigest(const BackgroundDigest&) = delete;
    BackgroundDigest& operator=(const BackgroundDigest&) = delete;

    // An empty block of block_size bytes; waits while every block is still being digested.
    std::vector<char> take();
    // Queues the first `used` bytes of `block` for the digest (the block comes back through take()).
    void submit(std::vector<char> block, std::size_t used);
    // Waits for the queue to drain; the digest of everything submitted. Throws what the thread hit.
    LocalDigest finish();

private:
    struct Job {
        std::vector<char> block;
        std::size_t used;
    };
    void run(std::string path, std::uint64_t prefix);
    void stop();

    static constexpr std::size_t blocks = 4;  // in flight at most: 4 x block_size of memory
    DigestAlgo algo_;
    Digest digest_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Job> queue_;
    std::vector<std::vector<char>> free_;
    bool closing_ = false;
    std::string error_;
    std::thread thread_;
};

}  // namespace ferry::client
