// File digests: OpenSSL EVP for MD5/SHA-*, zlib for CRC32, fed by positioned reads in 1 MiB blocks.
#include "fs/hash.hpp"

#include "base/log.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <memory>
#include <openssl/evp.h>
#include <span>
#include <vector>
#include <zlib.h>

namespace ferry::fs {

namespace {

constexpr std::size_t block_size = 1 << 20;

struct AlgoInfo {
    HashAlgo algo;
    const char* name;  // the draft's spelling
};
// Also the FEAT order.
constexpr std::array<AlgoInfo, 5> algos = {{{HashAlgo::sha256, "SHA-256"},
                                            {HashAlgo::sha1, "SHA-1"},
                                            {HashAlgo::sha512, "SHA-512"},
                                            {HashAlgo::md5, "MD5"},
                                            {HashAlgo::crc32, "CRC32"}}};

// Case-insensitive equality, ignoring '-' in `text` so "sha256" matches "SHA-256".
bool same_name(std::string_view text, std::string_view name) {
    std::string a, b;
    for (const char c : text)
        if (c != '-') a += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    for (const char c : name)
        if (c != '-') b += c;
    return !a.empty() && a == b;
}

std::string to_hex(const unsigned char* bytes, std::size_t count) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(count * 2);
    for (std::size_t i = 0; i < count; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 0xf];
    }
    return out;
}

}  // namespace

// ---- StreamingDigest: one running digest, whichever library computes it ----

struct StreamingDigest::Impl {
    struct CtxFree {
        void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
    };
    HashAlgo algo;
    std::unique_ptr<EVP_MD_CTX, CtxFree> ctx;
    uLong crc = 0;
};

namespace {
const EVP_MD* evp_md(HashAlgo algo) {
    switch (algo) {
        case HashAlgo::md5: return EVP_md5();
        case HashAlgo::sha1: return EVP_sha1();
        case HashAlgo::sha256: return EVP_sha256();
        case HashAlgo::sha512: return EVP_sha512();
        case HashAlgo::crc32: break;
    }
    return nullptr;
}
}  // namespace

StreamingDigest::StreamingDigest(HashAlgo algo) : impl_(std::make_unique<Impl>()) {
    impl_->algo = algo;
    if (algo == HashAlgo::crc32) {
        impl_->crc = ::crc32_z(0, nullptr, 0);
        return;
    }
    impl_->ctx.reset(EVP_MD_CTX_new());
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), evp_md(algo), nullptr) != 1) impl_->ctx.reset();
}

StreamingDigest::StreamingDigest(StreamingDigest&&) noexcept = default;
StreamingDigest& StreamingDigest::operator=(StreamingDigest&&) noexcept = default;
StreamingDigest::~StreamingDigest() = default;

HashAlgo StreamingDigest::algo() const { return impl_->algo; }

bool StreamingDigest::ready() const { return impl_->algo == HashAlgo::crc32 || impl_->ctx != nullptr; }

bool StreamingDigest::update(std::span<const char> bytes) {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    if (impl_->algo == HashAlgo::crc32) {
        impl_->crc = ::crc32_z(impl_->crc, data, bytes.size());
        return true;
    }
    return EVP_DigestUpdate(impl_->ctx.get(), data, bytes.size()) == 1;
}

Result<std::string> StreamingDigest::finish() {
    if (impl_->algo == HashAlgo::crc32) {
        const uLong crc = impl_->crc;
        const std::array<unsigned char, 4> be = {static_cast<unsigned char>(crc >> 24), static_cast<unsigned char>(crc >> 16),
                                                 static_cast<unsigned char>(crc >> 8), static_cast<unsigned char>(crc)};
        return to_hex(be.data(), be.size());
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(impl_->ctx.get(), md, &len) != 1) return Errc::io;
    return to_hex(md, len);
}

std::optional<HashAlgo> parse_hash_algo(std::string_view name) {
    for (const auto& info : algos)
        if (same_name(name, info.name)) return info.algo;
    return std::nullopt;
}

const char* hash_algo_name(HashAlgo algo) {
    for (const auto& info : algos)
        if (info.algo == algo) return info.name;
    return "?";
}

std::string hash_feat_list(HashAlgo selected) {
    std::string out;
    for (const auto& info : algos) {
        if (!out.empty()) out += ';';
        out += info.name;
        if (info.algo == selected) out += '*';
    }
    return out;
}

Result<std::string> hash_file(const File& file, HashAlgo algo, std::uint64_t start, std::uint64_t end,
                              const std::atomic<bool>* cancel) {
    auto digest = hash_range(file, algo, start, end, cancel);
    if (!digest) return digest.error();
    return std::move(digest->hex);
}

Result<RangeDigest> hash_range(const File& file, HashAlgo algo, std::uint64_t start, std::uint64_t end,
                               const std::atomic<bool>* cancel) {
    const auto info = sys::file_info(file);
    if (!info) return info.error();
    if (!info->is_regular()) return Errc::invalid;
    const std::uint64_t size = info->size;
    if (start > size) return Errc::invalid;
    if (end > size) end = size;
    if (end < start) return Errc::invalid;

    StreamingDigest digest(algo);
    if (!digest.ready()) return Errc::no_memory;
    sys::advise_sequential(file, start, end - start);
    std::unique_ptr<char[]> buffer(new char[block_size]);

    for (std::uint64_t offset = start; offset < end;) {
        if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return Errc::cancelled;
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block_size, end - offset));
        const auto got = sys::read_at(file, std::span(buffer.get(), want), offset);
        if (!got) return got.error();
        // The file shrank while we read: the range no longer exists as asked.
        if (*got == 0) return Errc::io;
        if (!digest.update(std::span<const char>(buffer.get(), *got))) return Errc::io;
        offset += *got;
    }
    auto hex = digest.finish();
    if (!hex) return hex.error();
    return RangeDigest{std::move(*hex), start, end};
}

namespace {

constexpr std::int64_t racy_window_ns = 2'000'000'000;

std::string attribute_name(HashAlgo algo) {
    std::string name = "user.ferry.";
    for (const char* c = hash_algo_name(algo); *c; ++c) name += static_cast<char>(std::tolower(*c));
    return name;
}

// "v1 <size> <mtime_ns> <inode> <device> <hex>": what the file was when the digest was taken.
std::string stamp_of(const sys::FileInfo& info) {
    return cat("v1 ", info.size, ' ', info.mtime_ns, ' ', info.id.inode, ' ', info.id.device, ' ');
}

bool same_file_state(const sys::FileInfo& a, const sys::FileInfo& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns && a.id == b.id;
}

// The digest kept with `file` if its stamp matches `info`, the file's state now.
std::optional<std::string> stored_for(const File& file, HashAlgo algo, const sys::FileInfo& info) {
    if (!info.is_regular()) return std::nullopt;
    const auto value = sys::get_attribute(file, attribute_name(algo));
    if (!value) return std::nullopt;
    const std::string stamp = stamp_of(info);
    if (value->size() <= stamp.size() || value->compare(0, stamp.size(), stamp) != 0) return std::nullopt;
    std::string hex = value->substr(stamp.size());
    if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    return hex;
}

}  // namespace

std::optional<std::string> stored_digest(const File& file, HashAlgo algo) {
    const auto info = sys::file_info(file);
    if (!info) return std::nullopt;
    return stored_for(file, algo, *info);
}

void store_digest(const File& file, HashAlgo algo, const sys::FileInfo& before, const std::string& hex,
                  Writer writer) {
    const auto now = sys::file_info(file);
    if (!now || !same_file_state(before, *now)) return;  // written to while we read it
    // A file modified within the last moments may be modified again within the same tick of the
    // file system's clock, leaving its mtime as it is: such a digest could outlive its bytes.
    const std::int64_t wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch()).count();
    if (writer == Writer::unknown && before.mtime_ns > wall_ns - racy_window_ns) return;
    sys::set_attribute(file, attribute_name(algo), stamp_of(before) + hex);
}

namespace {
bool listed(std::string_view names, std::string_view name) {  // names: each ends with '\0'
    for (std::size_t end; (end = names.find('\0')) != std::string_view::npos; names.remove_prefix(end + 1))
        if (names.substr(0, end) == name) return true;
    return false;
}
}  // namespace

// One listing, then a removal only of what is there: a new file (most uploads) costs one call.
void forget_digests(const File& file) {
    const auto names = sys::attribute_names(file);
    if (!names) return;  // no attributes on this file system: nothing was kept
    for (const auto& info : algos) {
        const std::string name = attribute_name(info.algo);
        if (listed(*names, name)) sys::remove_attribute(file, name);
    }
}

Result<RangeDigest> whole_file_digest(const File& file, HashAlgo algo, const std::atomic<bool>* cancel) {
    const auto before = sys::file_info(file);
    if (!before) return before.error();
    if (auto stored = stored_for(file, algo, *before)) return RangeDigest{std::move(*stored), 0, before->size};
    auto digest = hash_range(file, algo, 0, UINT64_MAX, cancel);
    if (digest && digest->end == before->size) store_digest(file, algo, *before, digest->hex);
    return digest;
}

}  // namespace ferry::fs
