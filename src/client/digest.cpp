#include "client/digest.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <vector>

namespace ferry::client {
namespace {

const EVP_MD* evp_of(DigestAlgo algo) {
    switch (algo) {
        case DigestAlgo::md5: return EVP_md5();
        case DigestAlgo::sha1: return EVP_sha1();
        case DigestAlgo::sha256: return EVP_sha256();
        case DigestAlgo::sha512: return EVP_sha512();
    }
    return EVP_md5();
}

constexpr std::size_t read_block = 1 << 20;

}  // namespace

const char* digest_name(DigestAlgo algo) {
    switch (algo) {
        case DigestAlgo::md5: return "MD5";
        case DigestAlgo::sha1: return "SHA-1";
        case DigestAlgo::sha256: return "SHA-256";
        case DigestAlgo::sha512: return "SHA-512";
    }
    return "MD5";
}

Digest::Digest(DigestAlgo algo) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, evp_of(algo), nullptr) != 1)
        throw ClientError(cat("can't start a ", digest_name(algo), " digest"));
}

Digest::~Digest() { EVP_MD_CTX_free(ctx_); }

void Digest::update(std::span<const char> bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }

std::string Digest::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        text += digits[md[i] >> 4];
        text += digits[md[i] & 15];
    }
    return text;
}

std::string digest_file(const std::string& path, DigestAlgo algo, std::uint64_t length) {
    Digest digest(algo);
    digest_prefix_into(digest, path, length);
    return digest.hex();
}

void digest_prefix_into(Digest& digest, const std::string& path, std::uint64_t length) {
    const auto file = sys::open_file(path, sys::OpenMode::read);
    if (!file) throw ClientError(cat("can't read ", path, ": ", file.error().message()));
    sys::advise_sequential(*file, 0, 0);
    std::vector<char> block(read_block);
    std::uint64_t left = length;
    std::uint64_t offset = 0;
    // Each round reads at least one byte or stops, so the loop ends with the file.
    while (left > 0) {
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
