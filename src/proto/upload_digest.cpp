#include "proto/upload_digest.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <span>

namespace ferry::proto {
namespace {

// Read back per step. The spare lane's steps are short: a bulk job that takes over waits for the
// one in progress, which on a busy machine gets the CPU only now and then.
constexpr std::size_t spare_block = 256u << 10;
constexpr std::size_t bulk_block = 1u << 20;

// The catch-ups waiting for idle time, in the whole process (see max_idle_catch_ups).
std::atomic<unsigned> idle_catch_ups{0};

bool take_idle_slot() {
    unsigned held = idle_catch_ups.load();
    while (held < UploadDigest::max_idle_catch_ups && !idle_catch_ups.compare_exchange_weak(held, held + 1)) {
    }
    return held < UploadDigest::max_idle_catch_ups;
}

}  // namespace

std::shared_ptr<UploadDigest> UploadDigest::start(File file, std::vector<fs::HashAlgo> algos, Submit submit) {
    return std::shared_ptr<UploadDigest>(new UploadDigest(std::move(file), std::move(algos), std::move(submit)));
}

UploadDigest::UploadDigest(File file, std::vector<fs::HashAlgo> algos, Submit submit)
    : file_(std::move(file)), submit_(std::move(submit)), algos_(std::move(algos)) {
    for (const fs::HashAlgo algo : algos_) digests_.emplace_back(algo);
}

UploadDigest::~UploadDigest() {
    if (holds_idle_slot_) idle_catch_ups.fetch_sub(1);
}

// The reactor thread calls written() and finish(); neither waits for a pool job: they publish
// through atomics and start a job when none runs.
void UploadDigest::written(std::uint64_t end) {
    std::uint64_t seen = end_.load();
    while (end > seen && !end_.compare_exchange_weak(seen, end)) {
    }
    wake_streaming();
}

void UploadDigest::finish(bool complete) {
    Outcome expected = Outcome::streaming;
    if (!outcome_.compare_exchange_strong(expected, complete ? Outcome::complete : Outcome::cut)) return;
    // A cut upload has nothing to catch up: its waiters are woken at once.
    if (complete && !hurried_.load() && take_idle_slot()) {
        holds_idle_slot_ = true;
        submit_([self = shared_from_this()] { self->catch_up_when_idle(); }, net::Lane::spare);
        if (hurried_.load()) start_hurried_catch_up();  // hurry() ran meanwhile and saw no catch-up yet
    } else {
        start_hurried_catch_up();
    }
}

// Called by a waiter, on any thread. Before the upload is over, finish() sees hurried_ instead.
void UploadDigest::hurry() {
    hurried_.store(true);
    if (outcome_.load() != Outcome::streaming) start_hurried_catch_up();
}

void UploadDigest::start_hurried_catch_up() {
    if (!hurried_job_.exchange(true)) submit_([self = shared_from_this()] { self->catch_up_now(); }, net::Lane::bulk);
}

void UploadDigest::wake_streaming() {
    if (!streaming_job_.exchange(true)) submit_([self = shared_from_this()] { self->stream(); }, net::Lane::spare);
}

void UploadDigest::when_done(std::function<void()> then) {
    {
        std::lock_guard lock(done_mutex_);
        if (!done_) return waiting_.push_back({std::nullopt, std::move(then)});
    }
    then();
}

void UploadDigest::when_kept(fs::HashAlgo algo, std::function<void()> then) {
    bool waits = false;
    {
        std::lock_guard lock(done_mutex_);
        const bool computed = std::find(algos_.begin(), algos_.end(), algo) != algos_.end();
        const bool released = std::find(released_.begin(), released_.end(), algo) != released_.end();
        waits = !done_ && !released;
        if (waits) waiting_.push_back({computed ? std::optional(algo) : std::nullopt, std::move(then)});
    }
    if (waits) hurry();
    else then();
}

void UploadDigest::stream() {
    std::vector<char> block(spare_block);
    for (;;) {
        std::unique_lock work(work_mutex_, std::try_to_lock);
        if (!work) return streaming_job_.store(false);  // the bulk job has taken over
        const auto behind = [this] {
            return !failed_ && !abandoned_.load() && outcome_.load() == Outcome::streaming && hashed_ < end_.load();
        };
        while (behind()) {
            const std::size_t got = feed(block, hashed_, digests_);
            if (got == 0) failed_ = true;
            hashed_ += got;
        }
        streaming_job_.store(false);
        // A write published after the checks above, before streaming_job_ was cleared, found a
        // job running and started none: look again.
        if (!behind() || streaming_job_.exchange(true)) return;
    }
}

// One algorithm after the other, so that the HASH waiting for the first (MD5, say: what ferry asks
// by default) is answered before the others are done, and each reads what is left from the page cache.
bool UploadDigest::catch_up_step(std::span<char> block) {
    const bool go_on = outcome_.load() == Outcome::complete && !failed_ && !abandoned_.load();
    const std::uint64_t end = end_.load();
    if (catching_ == digests_.size()) {  // every digest kept or given up (again, for the second job)
        hashed_ = end;
        return false;
    }
    fs::StreamingDigest& digest = digests_[catching_];
    std::uint64_t& at = caught_ ? *caught_ : caught_.emplace(hashed_);
    if (go_on && at < end) {
        const std::size_t got = feed(block, at, std::span(&digest, 1));
        if (got == 0) failed_ = true;
        at += got;
        return true;
    }
    if (go_on && at == end) keep(digest, at);
    release(digest.algo());
    ++catching_;
    caught_.reset();
    return true;
}

// Each block under the lock on its own, so that a hurried job waits for one block at most.
void UploadDigest::catch_up_when_idle() {
    std::vector<char> block(spare_block);
    for (;;) {
        std::unique_lock work(work_mutex_);
        if (hurried_.load()) return;  // the bulk lane's job finishes it
        if (!catch_up_step(block)) break;
    }
    release(std::nullopt);
}

void UploadDigest::catch_up_now() {
    std::vector<char> block(bulk_block);
    {
        std::lock_guard work(work_mutex_);
        while (catch_up_step(block)) {
        }
    }
    release(std::nullopt);
}

// Reads [from, from + block) and feeds it to `digests`: the bytes read, 0 when it cannot be read.
std::size_t UploadDigest::feed(std::span<char> block, std::uint64_t from, std::span<fs::StreamingDigest> digests) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), end_.load() - from));
    const auto got = sys::read_at(file_, block.first(want), from);
    if (!got || *got == 0) {
        log::warn(cat("upload digest: cannot read the upload back at ", from, ": ",
                      got ? std::string("the file is shorter") : got.error().message()));
        return 0;
    }
    for (auto& digest : digests)
        if (!digest.update(std::span<const char>(block.data(), *got))) return 0;
    return *got;
}

// Kept only when the file is exactly what was digested (nothing was written past the last chunk).
void UploadDigest::keep(fs::StreamingDigest& digest, std::uint64_t hashed) {
    const auto info = sys::file_info(file_);
    if (!info || info->size != hashed) return;
    auto hex = digest.finish();
    if (!hex) return;
    fs::store_digest(file_, digest.algo(), *info, *hex, fs::Writer::us);
    std::lock_guard lock(done_mutex_);
    results_.emplace_back(digest.algo(), std::move(*hex));
}

std::vector<std::pair<fs::HashAlgo, std::string>> UploadDigest::results() const {
    std::lock_guard lock(done_mutex_);
    return results_;
}

void UploadDigest::release(std::optional<fs::HashAlgo> algo) {
    std::vector<std::function<void()>> ready;
    {
        std::lock_guard lock(done_mutex_);
        if (algo) released_.push_back(*algo);
        else done_ = true;
        for (auto it = waiting_.begin(); it != waiting_.end();) {
            if (!algo || it->algo == algo) {
                ready.push_back(std::move(it->then));
                it = waiting_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& then : ready) then();
}

// ---- PendingDigests ----

void PendingDigests::add(sys::FileId id, std::weak_ptr<UploadDigest> digest) {
    std::lock_guard lock(mutex_);
    pending_[id] = std::move(digest);
}

void PendingDigests::abandon(sys::FileId id) {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) return;
    if (auto digest = it->second.lock()) digest->abandon();
    pending_.erase(it);
}

void PendingDigests::remove(sys::FileId id, const UploadDigest* digest) {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) return;
    const auto current = it->second.lock();
    if (!current || current.get() == digest) pending_.erase(it);
}

void PendingDigests::abandon_all() {
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : pending_)
        if (auto digest = weak.lock()) digest->abandon();
}

std::shared_ptr<UploadDigest> PendingDigests::find(sys::FileId id) {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) return nullptr;
    auto digest = it->second.lock();
    if (!digest) pending_.erase(it);
    return digest;
}

}  // namespace ferry::proto
