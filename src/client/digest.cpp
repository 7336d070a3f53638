#include "client/digest.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <vector>

namespace ferry::client {
namespace {

fs::HashAlgo hash_algo_of(DigestAlgo algo) {
    switch (algo) {
        case DigestAlgo::md5: return fs::HashAlgo::md5;
        case DigestAlgo::sha1: return fs::HashAlgo::sha1;
        case DigestAlgo::sha256: return fs::HashAlgo::sha256;
        case DigestAlgo::sha512: return fs::HashAlgo::sha512;
    }
    return fs::HashAlgo::md5;
}

constexpr std::size_t read_block = 1 << 20;

}  // namespace

const char* digest_name(DigestAlgo algo) { return fs::hash_algo_name(hash_algo_of(algo)); }

Digest::Digest(DigestAlgo algo) : digest_(hash_algo_of(algo)) {
    if (!digest_.ready()) throw ClientError(cat("can't start a ", digest_name(algo), " digest"));
}

void Digest::update(std::span<const char> bytes) { digest_.update(bytes); }

std::string Digest::hex() {
    auto hex = digest_.finish();
    if (!hex) throw ClientError(cat("can't finish a ", fs::hash_algo_name(digest_.algo()), " digest"));
    return *hex;
}

std::string digest_file(const std::string& path, DigestAlgo algo, std::uint64_t length) {
    Digest digest(algo);
    digest_prefix_into(digest, path, length);
    return digest.hex();
}

void digest_prefix_into(Digest& digest, const std::string& path, std::uint64_t length,
                        const std::atomic<bool>* abandon) {
    const auto file = sys::open_file(path, sys::OpenMode::read);
    if (!file) throw ClientError(cat("can't read ", path, ": ", file.error().message()));
    sys::advise_sequential(*file, 0, 0);
    std::vector<char> block(read_block);
    std::uint64_t left = length;
    std::uint64_t offset = 0;
    // Each round reads at least one byte or stops, so the loop ends with the file.
    while (left > 0) {
        if (abandon && abandon->load(std::memory_order_relaxed)) return;
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size()));
        const auto got = sys::read_at(*file, std::span(block.data(), want), offset);
        if (!got) throw ClientError(cat("reading ", path, ": ", got.error().message()));
        if (*got == 0) {
            if (length == whole_file) break;
            throw ClientError(cat(path, " is shorter than ", length, " bytes"));
        }
        digest.update(std::span<const char>(block.data(), *got));
        offset += *got;
        if (length != whole_file) left -= *got;
    }
}

}  // namespace ferry::client
