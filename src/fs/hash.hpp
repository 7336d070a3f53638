// File digests for HASH / XMD5 / XSHA* / XCRC (draft-bryan-ftpext-hash-02). OpenSSL EVP digests
// and zlib's crc32; streamed in large blocks with positioned reads. Runs on the worker pool, never
// a reactor.
#pragma once
#include "base/result.hpp"
#include "sys/file.hpp"
#include "sys/handle.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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

// One running digest, whichever library computes it (OpenSSL's EVP, zlib's crc32).
class StreamingDigest {
public:
    explicit StreamingDigest(HashAlgo algo);
    StreamingDigest(StreamingDigest&&) noexcept;
    StreamingDigest& operator=(StreamingDigest&&) noexcept;
    ~StreamingDigest();
    HashAlgo algo() const;
    bool ready() const;  // false when the library could not set it up
    bool update(std::span<const char> bytes);
    Result<std::string> finish();  // lowercase hex; the digest is spent afterwards

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Lowercase hex digest of bytes [start, end) of the open regular file (end is clamped to the file
// size; end == UINT64_MAX means "to the end"). invalid if start > size, cancelled if `cancel`
// becomes true while hashing, io if the file shrank meanwhile; else read errors. CRC32 is 8 hex digits.
Result<std::string> hash_file(const File& file, HashAlgo algo, std::uint64_t start, std::uint64_t end,
                              const std::atomic<bool>* cancel);

// A digest and the bytes [start, end) it is of: the file may have grown or shrunk since a command
// asked, and a reply must name the range that was hashed, not the one the file had then.
struct RangeDigest {
    std::string hex;
    std::uint64_t start = 0;
    std::uint64_t end = 0;
};
// hash_file, saying which range it hashed (end clamped to the size the file had when it began).
Result<RangeDigest> hash_range(const File& file, HashAlgo algo, std::uint64_t start, std::uint64_t end,
                               const std::atomic<bool>* cancel);

// ---- digests kept with the file ----
// A whole-file digest is stored in the extended attribute user.ferry.<algo> ("user.ferry.sha-256")
// with the file's size, mtime (ns), inode and device when it was taken; not its ctime, which
// writing the attribute itself changes. A file changed since (by a session, a shell user, another
// protocol) no longer matches and is hashed again. Where the file system keeps no extended
// attributes nothing is stored and every HASH reads the file. Nor is a digest kept for a file
// modified in the last two seconds, which could change again within one tick of its clock.

// The stored digest of the whole file, if its stamp still matches the file.
std::optional<std::string> stored_digest(const File& file, HashAlgo algo);
// Stores `hex` for the whole file as it is described by `before` (its info before hashing), but
// only if it has not changed meanwhile. Errors are not reported: the digest is then not kept.
// Writer::us: an upload of ours that has just ended wrote the file last (and every write of ours
// starts with forget_digests), so no other writer can be within the racy window.
enum class Writer { unknown, us };
void store_digest(const File& file, HashAlgo algo, const sys::FileInfo& before, const std::string& hex,
                  Writer writer = Writer::unknown);
// Drops every digest kept with the file: it is about to be written.
void forget_digests(const File& file);
// The whole-file digest: the stored one, or hash_range and then store_digest. Pool only.
Result<RangeDigest> whole_file_digest(const File& file, HashAlgo algo, const std::atomic<bool>* cancel);

}  // namespace ferry::fs
