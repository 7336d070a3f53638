#include "proto/upload_digest.hpp"

#include "base/log.hpp"

#include <span>

namespace ferry::proto {
namespace {

// Read back per step: large enough for few calls, small enough that a step yields the lock often.
constexpr std::size_t read_block = 1u << 20;

}  // namespace

std::shared_ptr<UploadDigest> UploadDigest::start(File file, std::vector<fs::HashAlgo> algos, Submit submit) {
    return std::shared_ptr<UploadDigest>(new UploadDigest(std::move(file), std::move(algos), std::move(submit)));
}

UploadDigest::UploadDigest(File file, std::vector<fs::HashAlgo> algos, Submit submit)
    : file_(std::move(file)), algos_(std::move(algos)), submit_(std::move(submit)) {
    for (const fs::HashAlgo algo : algos_) digests_.emplace_back(algo);
}

void UploadDigest::written(std::uint64_t end) {
    std::lock_guard lock(mutex_);
    if (end > end_) end_ = end;
    if (running_ || state_ != State::streaming || hashed_ >= end_) return;
    running_ = true;
    submit_([self = shared_from_this()] { self->run(); });
}

void UploadDigest::finish(bool complete) {
    std::unique_lock lock(mutex_);
    if (state_ != State::streaming) return;
    state_ = complete ? State::complete : State::cut;
    if (running_) return;  // the running job concludes when it has caught up
    running_ = true;
    submit_([self = shared_from_this()] { self->run(); });
}

void UploadDigest::when_done(std::function<void()> then) {
    {
        std::lock_guard lock(mutex_);
        if (state_ != State::done) return waiting_.push_back(std::move(then));
    }
    then();
}

void UploadDigest::run() {
    std::vector<char> block(read_block);
    std::unique_lock lock(mutex_);
    while (step(lock, block)) {
    }
    if (state_ == State::streaming) {
        running_ = false;  // caught up: the next written() starts another job
        return;
    }
    conclude(lock);
}

// One block of [hashed_, end_), read and digested without the lock. False when caught up or failed.
bool UploadDigest::step(std::unique_lock<std::mutex>& lock, std::vector<char>& block) {
    if (state_ == State::cut || hashed_ >= end_) return false;
    const std::uint64_t from = hashed_;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), end_ - from));
    lock.unlock();
    const auto got = sys::read_at(file_, std::span(block.data(), want), from);
    bool ok = got && *got > 0;
    for (auto& digest : digests_)
        if (ok) ok = digest.update(std::span<const char>(block.data(), *got));
    lock.lock();
    if (!ok) {
        log::warn(cat("upload digest: cannot read the upload back at ", from,
                      got ? std::string(": the file is shorter") : ": " + got.error().message()));
        state_ = State::cut;
        return false;
    }
    hashed_ = from + *got;
    return true;
}

// The upload is over and every byte is digested (or it was cut): keep the digests, wake the HASHes.
void UploadDigest::conclude(std::unique_lock<std::mutex>& lock) {
    const bool keep = state_ == State::complete;
    const std::uint64_t hashed = hashed_;
    lock.unlock();
    if (keep) {
        const auto info = sys::file_info(file_);
        if (info && info->size == hashed) {
            for (auto& digest : digests_)
                if (auto hex = digest.finish()) fs::store_digest(file_, digest.algo(), *info, *hex, fs::Writer::us);
        }
    }
    std::vector<std::function<void()>> waiting;
    lock.lock();
    state_ = State::done;
    running_ = false;
    waiting.swap(waiting_);
    lock.unlock();
    for (auto& then : waiting) then();
}

// ---- PendingDigests ----

void PendingDigests::add(sys::FileId id, std::weak_ptr<UploadDigest> digest) {
    std::lock_guard lock(mutex_);
    pending_[{id.device, id.inode}] = std::move(digest);
}

void PendingDigests::remove(sys::FileId id, const UploadDigest* digest) {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find({id.device, id.inode});
    if (it == pending_.end()) return;
    const auto current = it->second.lock();
    if (!current || current.get() == digest) pending_.erase(it);
}

std::shared_ptr<UploadDigest> PendingDigests::find(sys::FileId id) {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find({id.device, id.inode});
    if (it == pending_.end()) return nullptr;
    auto digest = it->second.lock();
    if (!digest) pending_.erase(it);
    return digest;
}

}  // namespace ferry::proto
