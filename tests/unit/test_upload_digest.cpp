// Digests computed behind an upload's writes (proto/upload_digest.hpp), with the pool replaced by
// a queue the test runs by hand.
#include "proto/upload_digest.hpp"

#include "support/temp_dir.hpp"
#include "sys/file.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <functional>

using namespace ferry;
using namespace ferry::proto;

namespace {

struct Jobs {
    std::deque<std::pair<std::function<void()>, net::Lane>> queue;
    UploadDigest::Submit submit() {
        return [this](std::function<void()> job, net::Lane lane) { queue.emplace_back(std::move(job), lane); };
    }
    std::size_t count(net::Lane lane) const {
        return static_cast<std::size_t>(std::count_if(queue.begin(), queue.end(), [&](auto& q) { return q.second == lane; }));
    }
    void run_all() { run_lane(std::nullopt); }
    // Runs the queued jobs of one lane only (none: all), in order; the others stay queued.
    void run_lane(std::optional<net::Lane> lane) {
        for (std::size_t round = 0; round < 1000; ++round) {
            const auto it = std::find_if(queue.begin(), queue.end(), [&](auto& q) { return !lane || q.second == *lane; });
            if (it == queue.end()) return;
            auto job = std::move(it->first);
            queue.erase(it);
            job();
        }
    }
};

// The file an upload writes, and a second handle that reads it back (as the digest's own does).
struct UploadedFile {
    ferry::testing::TempDir dir{"upload-digest"};
    File writer = dir.create("up", {});
    File reader = std::move(sys::open_file(dir.file("up"), sys::OpenMode::read).value());

    // The upload's digest, reading the file through a handle of its own.
    std::shared_ptr<UploadDigest> start_digest(std::vector<fs::HashAlgo> algos, Jobs& jobs) const {
        return UploadDigest::start(File(::dup(reader.get())), std::move(algos), jobs.submit());
    }
};

std::string md5_of(const std::vector<char>& bytes, ferry::testing::TempDir& dir) {
    const File file = dir.create("reference", bytes);
    return *fs::hash_file(file, fs::HashAlgo::md5, 0, UINT64_MAX, nullptr);
}

}  // namespace

TEST_CASE("an upload's digests follow its writes and are kept with the file when it completes") {
    std::vector<char> bytes(3 * 1024 * 1024 + 17);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    if (sys::set_attribute(reader, "user.ferry.probe", "x") == Errc::unsupported) return;  // nothing to keep

    Jobs jobs;
    auto digest = up.start_digest({fs::HashAlgo::md5, fs::HashAlgo::sha256}, jobs);
    bool done = false;
    digest->when_done([&] { done = true; });
    const std::size_t half = bytes.size() / 2;
    REQUIRE(::pwrite(writer.get(), bytes.data(), half, 0) == static_cast<ssize_t>(half));
    digest->written(half);
    digest->written(half);  // one job at a time, on the lane that only takes spare CPU time
    CHECK(jobs.queue.size() == 1);
    CHECK(jobs.count(net::Lane::spare) == 1);
    jobs.run_all();
    REQUIRE(::pwrite(writer.get(), bytes.data() + half, bytes.size() - half, half) ==
            static_cast<ssize_t>(bytes.size() - half));
    digest->written(bytes.size());
    CHECK_FALSE(done);
    digest->finish(true);
    CHECK(jobs.count(net::Lane::bulk) == 1);  // the end is the bulk lane's, which catches up
    jobs.run_all();
    CHECK(done);
    CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
    CHECK(fs::stored_digest(reader, fs::HashAlgo::sha256) ==
          *fs::hash_file(reader, fs::HashAlgo::sha256, 0, UINT64_MAX, nullptr));
    bool late = false;
    digest->when_done([&] { late = true; });  // after the end: at once
    CHECK(late);
}

TEST_CASE("when the spare lane never got to run, the bulk job hashes everything at the end") {
    std::vector<char> bytes(1024 * 1024 + 5, 'q');
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    if (sys::set_attribute(reader, "user.ferry.probe", "x") == Errc::unsupported) return;
    Jobs jobs;
    auto digest = up.start_digest({fs::HashAlgo::md5}, jobs);
    bool done = false;
    digest->when_done([&] { done = true; });
    REQUIRE(::pwrite(writer.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    digest->written(bytes.size());
    digest->finish(true);
    jobs.run_lane(net::Lane::bulk);  // a machine so busy that the spare job is still queued
    CHECK(done);
    CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
    jobs.run_lane(net::Lane::spare);  // when it finally runs, it finds nothing left to do
    CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
}

TEST_CASE("at the end one algorithm is caught up after the other, and its waiters go first") {
    std::vector<char> bytes(2 * 1024 * 1024 + 9, 'z');
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    if (sys::set_attribute(reader, "user.ferry.probe", "x") == Errc::unsupported) return;
    Jobs jobs;
    auto digest = up.start_digest({fs::HashAlgo::md5, fs::HashAlgo::sha256}, jobs);
    bool md5_woken = false, sha512_woken = false, sha256_kept_when_md5_woke = true;
    digest->when_kept(fs::HashAlgo::md5, [&] {
        md5_woken = true;
        sha256_kept_when_md5_woke = fs::stored_digest(reader, fs::HashAlgo::sha256).has_value();
        CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
    });
    digest->when_kept(fs::HashAlgo::sha512, [&] {  // not computed: woken at the very end
        sha512_woken = true;
        CHECK(fs::stored_digest(reader, fs::HashAlgo::sha256).has_value());
    });
    REQUIRE(::pwrite(writer.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    digest->written(bytes.size());
    digest->finish(true);
    jobs.run_lane(net::Lane::bulk);
    CHECK(md5_woken);
    CHECK_FALSE(sha256_kept_when_md5_woke);
    CHECK(sha512_woken);
    bool late = false;
    digest->when_kept(fs::HashAlgo::sha256, [&] { late = true; });
    CHECK(late);
}

TEST_CASE("a cut upload keeps nothing, and bytes the digest never saw are never covered") {
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    Jobs jobs;
    SUBCASE("cut") {
        auto digest = up.start_digest({fs::HashAlgo::md5}, jobs);
        REQUIRE(::pwrite(writer.get(), "abcdef", 6, 0) == 6);
        digest->written(6);
        digest->finish(false);
        jobs.run_all();
        CHECK_FALSE(fs::stored_digest(reader, fs::HashAlgo::md5));
    }
    SUBCASE("complete, but the file grew past what was reported") {
        auto digest = up.start_digest({fs::HashAlgo::md5}, jobs);
        REQUIRE(::pwrite(writer.get(), "abcdef", 6, 0) == 6);
        digest->written(3);
        digest->finish(true);
        jobs.run_all();
        CHECK_FALSE(fs::stored_digest(reader, fs::HashAlgo::md5));
    }
}

TEST_CASE("a digest abandoned at shutdown stops, keeps nothing and still wakes its waiters") {
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    Jobs jobs;
    PendingDigests pending;
    auto digest = up.start_digest({fs::HashAlgo::md5}, jobs);
    pending.add(sys::FileId{7, 8}, digest);
    bool done = false;
    digest->when_done([&] { done = true; });
    REQUIRE(::pwrite(writer.get(), "abcdef", 6, 0) == 6);
    digest->written(6);
    digest->finish(true);
    pending.abandon_all();
    jobs.run_all();
    CHECK(done);
    CHECK_FALSE(fs::stored_digest(reader, fs::HashAlgo::md5));
}

TEST_CASE("PendingDigests finds an upload's digest by file until it is removed") {
    PendingDigests pending;
    Jobs jobs;
    ferry::testing::TempDir dir("upload-digest");
    auto digest = UploadDigest::start(dir.create("x", {}), {fs::HashAlgo::md5}, jobs.submit());
    const sys::FileId id{1, 2};
    pending.add(id, digest);
    CHECK(pending.find(id) == digest);
    CHECK_FALSE(pending.find(sys::FileId{1, 3}));
    pending.remove(id, digest.get());
    CHECK_FALSE(pending.find(id));
    pending.add(id, digest);
    digest.reset();  // gone: not found either
    CHECK_FALSE(pending.find(id));
}
