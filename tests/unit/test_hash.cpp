// File digests against known vectors (computed with md5sum/sha*sum and python3 zlib.crc32).
#include "fs/hash.hpp"
#include "fs/home.hpp"

#include "support/temp_dir.hpp"
#include "sys/file.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <ctime>

using namespace ferry;
using namespace ferry::fs;
namespace stdfs = std::filesystem;

namespace {

constexpr std::uint64_t to_end = UINT64_MAX;
constexpr std::size_t mib = 1 << 20;

// A temp file holding `bytes`, open for reading; removed with its folder at the end.
struct TempFile {
    testing::TempDir temp{"hash"};
    stdfs::path dir = temp.path;
    ferry::File fd;

    explicit TempFile(const std::string& bytes) : fd(temp.create("data", {bytes.begin(), bytes.end()})) {}
};

// Byte i is i % 251: no period that lines up with the 1 MiB blocks.
std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>(i % 251);
    return out;
}

std::string digest(const TempFile& f, HashAlgo algo, std::uint64_t start = 0, std::uint64_t end = to_end) {
    auto r = hash_file(f.fd, algo, start, end, nullptr);
    REQUIRE(r.ok());
    return r.value();
}

using Vectors = std::map<HashAlgo, std::string>;

const Vectors empty_vectors = {
    {HashAlgo::md5, "d41d8cd98f00b204e9800998ecf8427e"},
    {HashAlgo::sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {HashAlgo::sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {HashAlgo::sha512, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                       "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
    {HashAlgo::crc32, "00000000"},
};

}  // namespace

TEST_CASE("algorithm names") {
    CHECK(parse_hash_algo("SHA-256") == HashAlgo::sha256);
    CHECK(parse_hash_algo("sha256") == HashAlgo::sha256);
    CHECK(parse_hash_algo("Sha-1") == HashAlgo::sha1);
    CHECK(parse_hash_algo("SHA512") == HashAlgo::sha512);
    CHECK(parse_hash_algo("md5") == HashAlgo::md5);
    CHECK(parse_hash_algo("CRC32") == HashAlgo::crc32);
    CHECK_FALSE(parse_hash_algo("SHA-3").has_value());
    CHECK_FALSE(parse_hash_algo("").has_value());
    CHECK_FALSE(parse_hash_algo("-").has_value());
    CHECK(std::string(hash_algo_name(HashAlgo::sha1)) == "SHA-1");
    CHECK(hash_feat_list(HashAlgo::sha256) == "SHA-256*;SHA-1;SHA-512;MD5;CRC32");
    CHECK(hash_feat_list(HashAlgo::md5) == "SHA-256;SHA-1;SHA-512;MD5*;CRC32");
}

TEST_CASE("known vectors: empty file") {
    TempFile f("");
    for (const auto& [algo, hex] : empty_vectors) {
        CAPTURE(hash_algo_name(algo));
        CHECK(digest(f, algo) == hex);
    }
}

TEST_CASE("known vectors: abc") {
    TempFile f("abc");
    const Vectors expected = {
        {HashAlgo::md5, "900150983cd24fb0d6963f7d28e17f72"},
        {HashAlgo::sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {HashAlgo::sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {HashAlgo::sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                           "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
        {HashAlgo::crc32, "352441c2"},
    };
    for (const auto& [algo, hex] : expected) {
        CAPTURE(hash_algo_name(algo));
        CHECK(digest(f, algo) == hex);
    }
}

TEST_CASE("known vectors: 1 MiB pattern, whole and in ranges") {
    TempFile f(pattern(mib));
    const Vectors whole = {
        {HashAlgo::md5, "8f293a2f6c19b345152f7a49bb4c643c"},
        {HashAlgo::sha1, "c2fc4cb20f1301a6b0dd211c19e69a13925dbe40"},
        {HashAlgo::sha256, "631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769"},
        {HashAlgo::sha512, "67dad569eefc986a3b2424f5516d5a0284bb53d7b52d75f5ed881a6830a95765"
                           "ccc82bc48752fb693422579f11dc9a400561ec1885af9eeef703dbbd312d4fd0"},
        {HashAlgo::crc32, "ef0e6054"},
    };
    for (const auto& [algo, hex] : whole) {
        CAPTURE(hash_algo_name(algo));
        CHECK(digest(f, algo) == hex);
        CHECK(digest(f, algo, 0, mib) == hex);
        CHECK(digest(f, algo, 0, mib + 999) == hex);  // end is clamped to the size
    }
    // start: [0, 1000)
    CHECK(digest(f, HashAlgo::md5, 0, 1000) == "a24f1e3ef66950e1327f210e3997ba2c");
    CHECK(digest(f, HashAlgo::crc32, 0, 1000) == "721746a6");
    // middle: [100, 200)
    CHECK(digest(f, HashAlgo::sha256, 100, 200) ==
          "dc51c9546d5998caf68ce165eccafcb7db043b226364a7b2c99c31f3ae658735");
    CHECK(digest(f, HashAlgo::sha1, 100, 200) == "a1e3601c1e8d2b4503067b216a22b95d4d4bef57");
    // end: [1000, size)
    CHECK(digest(f, HashAlgo::md5, 1000) == "341474ef8e0924ce9d6dd7aacafd93e5");
    CHECK(digest(f, HashAlgo::crc32, 1000) == "0fd5547e");
    // start == size: the empty range.
    for (const auto& [algo, hex] : empty_vectors) CHECK(digest(f, algo, mib) == hex);
    // start > size, and a range that ends before it starts.
    CHECK(hash_file(f.fd, HashAlgo::md5, mib + 1, to_end, nullptr).error() == EINVAL);
    CHECK(hash_file(f.fd, HashAlgo::md5, 200, 100, nullptr).error() == EINVAL);
}

TEST_CASE("ranges across 1 MiB block boundaries") {
    TempFile f(pattern(3 * mib + 5));
    CHECK(digest(f, HashAlgo::md5) == "028bfcc1395093c0df0dc731de96e1b5");
    CHECK(digest(f, HashAlgo::sha256, mib - 10, 2 * mib + 10) ==
          "486ccc2dc6027c62c1e91be010ea89406289dec1a01426dc39c450eb00992fdb");
}

TEST_CASE("cancel and bad descriptors") {
    TempFile f(pattern(2 * mib));
    std::atomic<bool> cancel{true};
    CHECK(hash_file(f.fd, HashAlgo::sha256, 0, to_end, &cancel).error() == ECANCELED);
    cancel = false;
    CHECK(hash_file(f.fd, HashAlgo::sha256, 0, to_end, &cancel).ok());
    CHECK(hash_file(File(), HashAlgo::md5, 0, to_end, nullptr).error() == EBADF);
    auto home = ferry::fs::Home::open(f.dir.string(), false);
    REQUIRE(home.ok());
    const auto dir = home->open_directory("/");
    REQUIRE(dir.ok());
    CHECK(hash_file(*dir, HashAlgo::md5, 0, to_end, nullptr).error() == EINVAL);
}

namespace {
void set_mtime_ago(const File& file, long seconds) {
    timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) - seconds, 0}};
    REQUIRE(::futimens(file.get(), times) == 0);
}
}  // namespace

TEST_CASE("whole-file digests are kept with the file and never served for a changed one") {
    TempFile f(pattern(mib + 3));
    const std::string expected = digest(f, HashAlgo::sha256);
    if (const Status probe = sys::set_attribute(f.fd, "user.ferry.probe", "x"); probe == Errc::unsupported) {
        MESSAGE("no extended attributes on this file system: nothing is kept, every HASH reads the file");
        CHECK_FALSE(stored_digest(f.fd, HashAlgo::sha256));
        return;
    }
    CHECK_FALSE(stored_digest(f.fd, HashAlgo::sha256));
    // Just written: too recent to keep a digest of (another write could keep the same mtime).
    REQUIRE(whole_file_digest(f.fd, HashAlgo::sha256, nullptr).ok());
    CHECK_FALSE(stored_digest(f.fd, HashAlgo::sha256));
    set_mtime_ago(f.fd, 3600);
    auto first = whole_file_digest(f.fd, HashAlgo::sha256, nullptr);
    REQUIRE(first.ok());
    CHECK(first->hex == expected);
    CHECK(first->start == 0);
    CHECK(first->end == sys::file_info(f.fd)->size);
    CHECK(stored_digest(f.fd, HashAlgo::sha256) == expected);
    CHECK_FALSE(stored_digest(f.fd, HashAlgo::md5));  // one attribute per algorithm

    // A stored value is what answers: one with the right stamp is served as it is.
    const std::string stored = *sys::get_attribute(f.fd, "user.ferry.sha-256");
    REQUIRE(stored.ends_with(expected));
    const std::string forged = stored.substr(0, stored.size() - expected.size()) + std::string(64, 'a');
    REQUIRE_FALSE(sys::set_attribute(f.fd, "user.ferry.sha-256", forged));
    CHECK(whole_file_digest(f.fd, HashAlgo::sha256, nullptr)->hex == std::string(64, 'a'));

    // Changed behind our back (the same size, new bytes): the stamp no longer matches.
    const char changed = 'Z';
    REQUIRE(::pwrite(f.fd.get(), &changed, 1, 10) == 1);
    CHECK_FALSE(stored_digest(f.fd, HashAlgo::sha256));
    const auto fresh = whole_file_digest(f.fd, HashAlgo::sha256, nullptr);
    REQUIRE(fresh.ok());
    CHECK(fresh->hex != expected);
    CHECK(fresh->hex != std::string(64, 'a'));
    set_mtime_ago(f.fd, 1800);
    CHECK(whole_file_digest(f.fd, HashAlgo::sha256, nullptr)->hex == fresh->hex);
    CHECK(stored_digest(f.fd, HashAlgo::sha256) == fresh->hex);
    // Garbage in the attribute is ignored.
    REQUIRE_FALSE(sys::set_attribute(f.fd, "user.ferry.sha-256", "v1 nonsense"));
    CHECK_FALSE(stored_digest(f.fd, HashAlgo::sha256));
}
