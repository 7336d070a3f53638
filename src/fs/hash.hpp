// File digests for HASH / XMD5 / XSHA* / XCRC (draft-bryan-ftpext-hash-02). OpenSSL EVP digests
// and zlib's crc32; streamed in large blocks with positioned reads. Runs on the worker pool, never
// a reactor.
#pragma once
#include "base/result.hpp"
#include "sys/handle.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::fs {

enum class HashAlgo { md5, sha1, sha256, sha512, crc32 };

// "MD5", "SHA-1", "SHA-256", "SHA-512", "CRC32" (case-insensitive; "SHA256"/"SHA1"/"SHA512" too).
std::optional<HashAlgo> parse_hash_algo(std::string_view name);
// The draft's spelling: "SHA-256".
const char* hash_algo_name(HashAlgo algo);
// FEAT line value: "SHA-256*;SHA-1;SHA-512;MD5;CRC32" with '*' on `selected`.
std::string hash_feat_list(HashAlgo selected);

// Lowercase hex digest of bytes [start, end) of the open regular file (end is clamped to the file
// size; end == UINT64_MAX means "to the end"). invalid if start > size, cancelled if `cancel`
// becomes true while hashing, io if the file shrank meanwhile; else read errors. CRC32 is 8 hex digits.
Result<std::string> hash_file(const File& file, HashAlgo algo, std::uint64_t start, std::uint64_t end,
                              const std::atomic<bool>* cancel);

}  // namespace ferry::fs
