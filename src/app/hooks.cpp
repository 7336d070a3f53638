#include "app/hooks.hpp"

#include "app/hook_post.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"

#include <chrono>

namespace ferry::app {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string describe(const proto::HookEvent& event) {
    return cat(proto::hook_kind_name(event.kind), event.path.empty() ? "" : " ", event.path,
               event.user.empty() ? "" : cat(" (", event.user, ")"));
}

}  // namespace

bool hooks_run_programs(const std::vector<HookSpec>& specs) {
    for (const HookSpec& spec : specs)
        if (!spec.run.empty()) return true;
    return false;
}

Hooks::Hooks(std::vector<HookSpec> specs, unsigned concurrency, unsigned queue_limit, std::string node,
             std::unique_ptr<HookRunner> runner)
    : specs_(std::move(specs)), queue_limit_(queue_limit), node_(std::move(node)), runner_(std::move(runner)) {
    for (const HookSpec& spec : specs_) wanted_ |= spec.events;
    for (unsigned i = 0; i < std::max(1u, concurrency); ++i) threads_.emplace_back([this] { work(); });
}

Hooks::~Hooks() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (!queue_.empty()) log::warn(cat("hooks: ", queue_.size(), " events not sent: the server is stopping"));
        queue_.clear();
    }
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
}

bool Hooks::wants(proto::HookKind kind) const { return wanted_.test(static_cast<std::size_t>(kind)); }

void Hooks::emit(proto::HookEvent event) {
    std::size_t dropped = 0;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        for (; queue_.size() >= queue_limit_ && !queue_.empty(); ++dropped) {
            // The oldest event that is not a question: a pre_upload waits for its answer.
            auto oldest = std::find_if(queue_.begin(), queue_.end(), [](const Job& job) { return !job.answer; });
            if (oldest == queue_.end()) break;
            queue_.erase(oldest);
        }
        queue_.push_back(Job{std::move(event), now_ms(), nullptr});
    }
    if (dropped) {
        metrics::registry().hook_events_dropped.add(dropped);
        log::warn(cat("hooks: the queue is full (hook_queue = ", queue_limit_, "): dropped the oldest event"));
    }
    wake_.notify_one();
}

void Hooks::ask(proto::HookEvent event, std::function<void(bool, std::string)> answer) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return answer(false, "the server is stopping");
        queue_.push_front(Job{std::move(event), now_ms(), std::move(answer)});  // a session waits for it
    }
    wake_.notify_one();
}

void Hooks::work() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        if (job.answer) decide(job);
        else notify(job);
    }
}

void Hooks::notify(const Job& job) {
    for (const HookSpec& spec : specs_) {
        if (!spec.wants(job.event.kind)) continue;
        const std::string problem = run_hook(spec, job);
        if (!problem.empty()) {
            metrics::registry().hook_failures.add();
            log::warn(cat("hooks: ", spec.where(), " on ", describe(job.event), ": ", problem));
        }
    }
}

void Hooks::decide(const Job& job) {
    for (const HookSpec& spec : specs_) {
        if (!spec.wants(proto::HookKind::pre_upload)) continue;
        const std::string problem = run_hook(spec, job);
        if (!problem.empty()) return job.answer(false, problem);
    }
    job.answer(true, "");
}

std::string Hooks::run_hook(const HookSpec& spec, const Job& job) {
    const std::string json = proto::hook_json(job.event, node_, job.time_ms);
    if (!spec.url.empty()) {
        const PostOutcome posted = post_json(spec.url, json, spec.timeout, job.answer ? 0 : spec.retries);
        if (posted.status >= 200 && posted.status < 300) return "";
        if (posted.status == 0) return cat("no answer from ", spec.url, " after ", posted.attempts, " attempts: ", posted.error);
        return cat(spec.url, " answered HTTP ", posted.status, posted.attempts > 1 ? cat(" after ", posted.attempts, " attempts") : "");
    }
    if (!runner_) return "no hook helper to run programs";
    HookRun run{spec.run, proto::hook_environment(job.event, node_, job.time_ms), json + "\n", spec.timeout};
    const HookRunOutcome outcome = runner_->run(run);
    if (outcome.timed_out) return cat("killed after ", spec.timeout.count(), " s (timeout)");
    if (outcome.exit_code == 0) return "";
    return cat(outcome.exit_code < 0 ? std::string("killed by a signal") : cat("exit ", outcome.exit_code),
               outcome.last_line.empty() ? "" : cat(": ", outcome.last_line));
}

}  // namespace ferry::app
