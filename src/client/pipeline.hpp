// The local digest of a transfer, computed on a helper thread while the transfer runs, so the check
// at the end compares two digests that are already there (the server keeps its own with the file,
// or computes it while the upload streams). A download's receive loop hands each written block to
// the thread and waits only when every block is still in flight; an upload's thread reads the
// local file itself, alongside the sending (which is sendfile, so no block passes through us).
#pragma once
#include "client/digest.hpp"

#include <atomic>
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
    // The first `prefix` bytes of `path` are digested first, on the thread: the part a resumed
    // download already had, or for an upload the whole file (whole_file, and no blocks).
    BackgroundDigest(DigestAlgo algo, std::string path, std::uint64_t prefix, std::size_t block_size);
    // Abandons the digest: a thread still reading the file stops at its next block.
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
    std::atomic<bool> abandoned_{false};
    std::string error_;
    std::thread thread_;
};

}  // namespace ferry::client
