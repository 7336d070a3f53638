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
#include <mutex>
#include <thread>

using namespace ferry;
using namespace ferry::proto;

namespace {

// Thread-safe, for the test in which a job runs on a thread of its own while another is submitted.
struct Jobs {
    std::mutex mutex;
    std::deque<std::pair<std::function<void()>, net::Lane>> queue;  // guarded by mutex
    UploadDigest::Submit submit() {
        return [this](std::function<void()> job, net::Lane lane) {
            std::lock_guard lock(mutex);
            queue.emplace_back(std::move(job), lane);
        };
    }
    std::size_t count(net::Lane lane) {
        std::lock_guard lock(mutex);
        return static_cast<std::size_t>(std::count_if(queue.begin(), queue.end(), [&](auto& q) { return q.second == lane; }));
    }
    void run_all() { run_lane(std::nullopt); }
    // Runs the queued jobs of one lane only (none: all), in order; the others stay queued.
    void run_lane(std::optional<net::Lane> lane) {
        for (std::size_t round = 0; round < 1000; ++round) {
            std::function<void()> job;
            {
                std::lock_guard lock(mutex);
                const auto it = std::find_if(queue.begin(), queue.end(), [&](auto& q) { return !lane || q.second == *lane; });
                if (it == queue.end()) return;
                job = std::move(it->first);
                queue.erase(it);
            }
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
    CHECK(jobs.count(net::Lane::bulk) == 0);  // nobody waits: the catch-up too takes only spare time
    CHECK(jobs.count(net::Lane::spare) == 2);  // the streaming job, and the catch-up
    jobs.run_all();
    CHECK(done);
    CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
    CHECK(fs::stored_digest(reader, fs::HashAlgo::sha256) ==
          *fs::hash_file(reader, fs::HashAlgo::sha256, 0, UINT64_MAX, nullptr));
    bool late = false;
    digest->when_done([&] { late = true; });  // after the end: at once
    CHECK(late);
}

TEST_CASE("a HASH that waits hurries the catch-up onto the bulk lane, which does it all") {
    std::vector<char> bytes(1024 * 1024 + 5, 'q');
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    if (sys::set_attribute(reader, "user.ferry.probe", "x") == Errc::unsupported) return;
    Jobs jobs;
    auto digest = up.start_digest({fs::HashAlgo::md5, fs::HashAlgo::sha256}, jobs);
    bool done = false, md5_woken = false;
    digest->when_done([&] { done = true; });
    REQUIRE(::pwrite(writer.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    digest->written(bytes.size());
    SUBCASE("the HASH comes after the end") {
        digest->finish(true);
        CHECK(jobs.count(net::Lane::bulk) == 0);
        digest->when_kept(fs::HashAlgo::md5, [&] { md5_woken = true; });
    }
    SUBCASE("the HASH comes while the upload still streams") {
        digest->when_kept(fs::HashAlgo::md5, [&] { md5_woken = true; });
        CHECK(jobs.count(net::Lane::bulk) == 0);
        digest->finish(true);
    }
    CHECK(jobs.count(net::Lane::bulk) == 1);
    digest->when_kept(fs::HashAlgo::sha256, [] {});  // a second waiter: still one job
    CHECK(jobs.count(net::Lane::bulk) == 1);
    jobs.run_lane(net::Lane::bulk);  // a machine so busy that the spare jobs are still queued
    CHECK(md5_woken);
    CHECK(done);
    CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
    jobs.run_lane(net::Lane::spare);  // when they finally run, they find nothing left to do
    CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5_of(bytes, dir));
}

TEST_CASE("a hurried catch-up takes over from an idle one wherever it is, and the digests are right") {
    std::vector<char> bytes(24 * 1024 * 1024 + 1, 0);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 13 + i / 4096);
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    if (sys::set_attribute(reader, "user.ferry.probe", "x") == Errc::unsupported) return;
    REQUIRE(::pwrite(writer.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    const std::string md5 = md5_of(bytes, dir);
    const std::string sha256 = *fs::hash_file(reader, fs::HashAlgo::sha256, 0, UINT64_MAX, nullptr);
    for (const int delay_ms : {0, 5, 20, 60}) {
        CAPTURE(delay_ms);
        fs::forget_digests(writer);
        Jobs jobs;
        auto digest = up.start_digest({fs::HashAlgo::md5, fs::HashAlgo::sha256}, jobs);
        digest->written(bytes.size() / 3);  // the streaming job will have done a third
        jobs.run_lane(net::Lane::spare);
        digest->written(bytes.size());
        digest->finish(true);
        REQUIRE(jobs.queue.size() == 2);  // streaming (finds the upload over) and the idle catch-up
        std::thread idle([&jobs] { jobs.run_lane(net::Lane::spare); });
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        std::atomic<bool> sha256_woken{false};
        digest->when_kept(fs::HashAlgo::sha256, [&] { sha256_woken = true; });
        idle.join();  // it stops at its next block (or has finished: then the bulk job finds nothing)
        jobs.run_lane(net::Lane::bulk);
        CHECK(sha256_woken);
        CHECK(fs::stored_digest(reader, fs::HashAlgo::md5) == md5);
        CHECK(fs::stored_digest(reader, fs::HashAlgo::sha256) == sha256);
    }
}

TEST_CASE("only so many catch-ups wait for idle time; the ones past that go to the bulk lane") {
    ferry::testing::TempDir dir("upload-digest");
    const File file = dir.create("x", std::vector<char>(10, 'x'));
    Jobs jobs;
    std::vector<std::shared_ptr<UploadDigest>> digests;
    for (unsigned i = 0; i <= UploadDigest::max_idle_catch_ups; ++i) {
        digests.push_back(UploadDigest::start(File(::dup(file.get())), {fs::HashAlgo::md5}, jobs.submit()));
        digests.back()->written(10);
        digests.back()->finish(true);
    }
    CHECK(jobs.count(net::Lane::spare) >= UploadDigest::max_idle_catch_ups);
    CHECK(jobs.count(net::Lane::bulk) == 1);
    jobs.run_all();
    digests.clear();  // their slots are free again
    jobs.queue.clear();
    auto next = UploadDigest::start(File(::dup(file.get())), {fs::HashAlgo::md5}, jobs.submit());
    next->finish(true);
    CHECK(jobs.count(net::Lane::bulk) == 0);
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
    jobs.run_lane(net::Lane::bulk);  // the waiters hurried it
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

TEST_CASE("a file written again abandons the digest still catching up with its last upload") {
    UploadedFile up;
    auto& [dir, writer, reader] = up;
    REQUIRE(reader);
    if (sys::set_attribute(reader, "user.ferry.probe", "x") == Errc::unsupported) return;
    Jobs jobs;
    PendingDigests pending;
    const sys::FileId id{3, 4};
    auto digest = up.start_digest({fs::HashAlgo::md5}, jobs);
    pending.add(id, digest);
    bool done = false;
    digest->when_done([&] { done = true; });
    REQUIRE(::pwrite(writer.get(), "abcdef", 6, 0) == 6);
    digest->written(6);
    digest->finish(true);
    pending.abandon(id);  // the next STOR of the file, before the idle catch-up got to run
    CHECK_FALSE(pending.find(id));
    REQUIRE(::pwrite(writer.get(), "ABCDEF", 6, 0) == 6);
    jobs.run_all();
    CHECK(done);
    CHECK_FALSE(fs::stored_digest(reader, fs::HashAlgo::md5));
    pending.abandon(sys::FileId{9, 9});  // none: nothing happens
}
