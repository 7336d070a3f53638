// Local file digests (the server's own StreamingDigest), in the draft's names ("MD5", "SHA-256").
#pragma once
#include "client/options.hpp"
#include "fs/hash.hpp"

#include <atomic>
#include <cstdint>
#include <limits>
#include <span>
#include <string>

namespace ferry::client {

inline constexpr std::uint64_t whole_file = std::numeric_limits<std::uint64_t>::max();

// "MD5", "SHA-1", "SHA-256", "SHA-512" (the IANA hash names HASH uses).
const char* digest_name(DigestAlgo algo);

// An incremental digest; one per computation.
class Digest {
public:
    explicit Digest(DigestAlgo algo);  // throws ClientError when the library cannot start it
    void update(std::span<const char> bytes);
    std::string hex();  // finishes the digest: lowercase hex

private:
    fs::StreamingDigest digest_;
};

// Digest of the first `length` bytes of the file at `path` (whole_file = all of it). Throws
// ClientError naming the file when it can't be read or is shorter than `length`.
std::string digest_file(const std::string& path, DigestAlgo algo, std::uint64_t length);
// Feeds the first `length` bytes of `path` (whole_file = all) into `digest`; same errors. Stops
// early, leaving `digest` partial, once `*abandon` is set (a transfer that failed under it).
void digest_prefix_into(Digest& digest, const std::string& path, std::uint64_t length,
                        const std::atomic<bool>* abandon = nullptr);

}  // namespace ferry::client
