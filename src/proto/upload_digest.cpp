#include "proto/upload_digest.hpp"

#include "base/log.hpp"

#include <span>

namespace ferry::proto {
namespace {

// Read back per step. The spare lane's steps are short: a bulk job that takes over waits for the
// one in progress, which on a busy machine gets the CPU only now and then.
constexpr std::size_t spare_block = 256u << 10;
constexpr std::size_t bulk_block = 1u << 20;

}  // namespace

std::shared_ptr<UploadDigest> UploadDigest::start(File file, std::vector<fs::HashAlgo> algos, Submit submit) {
    return std::shared_ptr<UploadDigest>(new UploadDigest(std::move(file), std::move(algos), std::move(submit)));
}

UploadDigest::UploadDigest(File file, std::vector<fs::HashAlgo> algos, Submit submit)
    : file_(std::move(file)), submit_(std::move(submit)) {
    for (const fs::HashAlgo algo : algos) digests_.emplace_back(algo);
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
    if (outcome_.compare_exchange_strong(expected, complete ? Outcome::complete : Outcome::cut))
        submit_([self = shared_from_this()] { self->catch_up(); }, net::Lane::bulk);
}

void UploadDigest::wake_streaming() {
    if (!streaming_job_.exchange(true)) submit_([self = shared_from_this()] { self->stream(); }, net::Lane::spare);
}

void UploadDigest::when_done(std::function<void()> then) {
    {
        std::lock_guard lock(done_mutex_);
        if (!done_) return waiting_.push_back(std::move(then));
    }
    then();
}

void UploadDigest::stream() {
    std::vector<char> block(spare_block);
    for (;;) {
        std::unique_lock work(work_mutex_, std::try_to_lock);
        if (!work) return streaming_job_.store(false);  // the bulk job has taken over
        const auto behind = [this] {
            return !failed_ && !abandoned_.load() && outcome_.load() == Outcome::streaming && hashed_ < end_.load();
        };
        while (behind())
            if (!step(block)) failed_ = true;
        streaming_job_.store(false);
        // A write published after the checks above, before streaming_job_ was cleared, found a
        // job running and started none: look again.
        if (!behind() || streaming_job_.exchange(true)) return;
    }
}

void UploadDigest::catch_up() {
    std::vector<char> block(bulk_block);
    {
        std::lock_guard work(work_mutex_);
        if (outcome_.load() == Outcome::complete)
            while (!failed_ && !abandoned_.load() && hashed_ < end_.load())
                if (!step(block)) failed_ = true;
    }
    conclude();
}

// One block of [hashed_, end_), read back and digested. False when it cannot be read.
bool UploadDigest::step(std::span<char> block) {
    const std::uint64_t from = hashed_;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), end_.load() - from));
    const auto got = sys::read_at(file_, block.first(want), from);
    if (!got || *got == 0) {
        log::warn(cat("upload digest: cannot read the upload back at ", from, ": ",
                      got ? std::string("the file is shorter") : got.error().message()));
        return false;
    }
    for (auto& digest : digests_)
        if (!digest.update(std::span<const char>(block.data(), *got))) return false;
    hashed_ = from + *got;
    return true;
}

// The upload is over and every byte is digested (or it was cut): keep the digests, wake the HASHes.
void UploadDigest::conclude() {
    std::unique_lock work(work_mutex_);
    if (outcome_.load() == Outcome::complete && !failed_ && !abandoned_.load()) {
        const auto info = sys::file_info(file_);
        if (info && info->size == hashed_) {
            for (auto& digest : digests_)
                if (auto hex = digest.finish()) fs::store_digest(file_, digest.algo(), *info, *hex, fs::Writer::us);
        }
    }
    work.unlock();
    std::vector<std::function<void()>> waiting;
    {
        std::lock_guard lock(done_mutex_);
        done_ = true;
        waiting.swap(waiting_);
    }
    for (auto& then : waiting) then();
}

// ---- PendingDigests ----

void PendingDigests::add(sys::FileId id, std::weak_ptr<UploadDigest> digest) {
    std::lock_guard lock(mutex_);
    pending_[id] = std::move(digest);
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
