// TlsRecordSealer on its own: the record layout, one nonce per sequence number, the limits. Whether
// real TLS stacks read its records is test_tls_stream.cpp's (OpenSSL) and the e2e suite's (GnuTLS,
// OpenSSL, Python) business.
#include "net/tls_record_sealer.hpp"

#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace ferry::net;

namespace {

constexpr std::array<unsigned char, 12> test_iv = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

std::vector<unsigned char> test_key(std::size_t size) { return std::vector<unsigned char>(size, 0x5a); }

// A record of `content` ready for seal_in_place: header space, the content, room for type and tag.
std::vector<char> record_around(const std::string& content) {
    std::vector<char> record(TlsRecordSealer::sealed_size(content.size()));
    std::copy(content.begin(), content.end(), record.begin() + TlsRecordSealer::header_size);
    return record;
}

struct Opened {
    std::string content;
    int type;
};

// RFC 8446 5.2-5.3 read the other way: nonce = iv XOR sequence, additional data = the header.
std::optional<Opened> open_record(const EVP_CIPHER* cipher, const std::vector<unsigned char>& key,
                                  std::uint64_t sequence, const std::vector<char>& record) {
    auto nonce = test_iv;
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(sequence >> (8 * i));
    const auto* bytes = reinterpret_cast<const unsigned char*>(record.data());
    const std::size_t body = record.size() - TlsRecordSealer::header_size - TlsRecordSealer::tag_size;
    std::vector<unsigned char> plain(body);
    std::vector<unsigned char> tag(bytes + record.size() - TlsRecordSealer::tag_size, bytes + record.size());
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int out = 0, last = 0;
    const bool ok = EVP_DecryptInit_ex(ctx, cipher, nullptr, key.data(), nonce.data()) == 1 &&
                    EVP_DecryptUpdate(ctx, nullptr, &out, bytes, TlsRecordSealer::header_size) == 1 &&
                    EVP_DecryptUpdate(ctx, plain.data(), &out, bytes + TlsRecordSealer::header_size,
                                      static_cast<int>(body)) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag.data()) == 1 &&
                    EVP_DecryptFinal_ex(ctx, plain.data() + out, &last) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok || plain.empty()) return std::nullopt;
    return Opened{std::string(plain.begin(), plain.end() - 1), plain.back()};
}

}  // namespace

TEST_CASE("TlsRecordSealer: TLS 1.3 records that open with iv XOR sequence and the header as AAD") {
    RecordCipher cipher = RecordCipher::aes_128_gcm;
    const EVP_CIPHER* evp = EVP_aes_128_gcm();
    std::size_t key_size = 16;
    SUBCASE("AES-128-GCM") {}
    SUBCASE("AES-256-GCM") {
        cipher = RecordCipher::aes_256_gcm;
        evp = EVP_aes_256_gcm();
        key_size = 32;
    }
    SUBCASE("ChaCha20-Poly1305") {
        cipher = RecordCipher::chacha20_poly1305;
        evp = EVP_chacha20_poly1305();
        key_size = 32;
    }
    const auto key = test_key(key_size);
    auto sealer = TlsRecordSealer::create(cipher, key, test_iv, 5);
    REQUIRE(sealer);

    const std::string first = "226 small";
    const std::string second(TlsRecordSealer::max_content, 'x');
    auto one = record_around(first), two = record_around(second);
    REQUIRE(sealer->seal_in_place(ContentType::application_data, one));
    REQUIRE(sealer->seal_in_place(ContentType::alert, two));
    CHECK(sealer->sequence() == 7);

    // The header every TLS 1.3 record shows: application_data, 0x0303, the ciphertext's length.
    const std::size_t length = second.size() + 1 + TlsRecordSealer::tag_size;
    CHECK(std::vector<unsigned char>(two.begin(), two.begin() + 5) ==
          std::vector<unsigned char>{23, 3, 3, static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length)});
    const auto a = open_record(evp, key, 5, one);
    const auto b = open_record(evp, key, 6, two);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->content == first);
    CHECK(a->type == 23);
    CHECK(b->content == second);
    CHECK(b->type == 21);  // the real type is sealed inside
    CHECK_FALSE(open_record(evp, key, 6, one));  // each record opens under its own sequence number only
    two[2] ^= 1;
    CHECK_FALSE(open_record(evp, key, 6, two));  // the header is authenticated
}

TEST_CASE("TlsRecordSealer refuses what would break the record limits or reuse a nonce") {
    const auto key = test_key(32);
    CHECK_FALSE(TlsRecordSealer::create(RecordCipher::aes_128_gcm, key, test_iv, 0));  // 16-byte key wanted

    auto sealer = TlsRecordSealer::create(RecordCipher::aes_256_gcm, key, test_iv, 0);
    REQUIRE(sealer);
    std::vector<char> too_big(TlsRecordSealer::sealed_size(TlsRecordSealer::max_content + 1));
    CHECK_FALSE(sealer->seal_in_place(ContentType::application_data, too_big));
    CHECK(sealer->sequence() == 0);  // nothing sealed, nothing spent
    CHECK_FALSE(sealer->broken());

    // The last sequence number is never used; once refused, the sealer stays broken.
    auto last = TlsRecordSealer::create(RecordCipher::aes_256_gcm, key, test_iv,
                                        std::numeric_limits<std::uint64_t>::max() - 1);
    REQUIRE(last);
    auto record = record_around("a");
    CHECK(last->seal_in_place(ContentType::application_data, record));
    CHECK_FALSE(last->seal_in_place(ContentType::application_data, record));
    CHECK(last->broken());
    auto next = record_around("b");
    CHECK_FALSE(last->seal_in_place(ContentType::application_data, next));
}
