// The [[hook]]s at work: sessions hand their events here (proto::HookSink) and go on at once.
// Events wait in one bounded queue (hook_queue; when full the oldest goes, with a log line and the
// ferry_hook_events_dropped_total counter) for hook_concurrency threads, which run the programs
// (through the helper process, app/hook_runner) and POST to the URLs (libcurl, app/hook_post).
// pre_upload questions go ahead of the queue and are never dropped; a hook that says no, fails or
// times out refuses the upload (fail closed).
#pragma once
#include "app/hook_runner.hpp"
#include "app/hook_spec.hpp"
#include "proto/hook_event.hpp"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry::app {

class Hooks final : public proto::HookSink {
public:
    // `runner` is needed when a hook runs a program (nullptr otherwise).
    Hooks(std::vector<HookSpec> specs, unsigned concurrency, unsigned queue_limit, std::string node,
          std::unique_ptr<HookRunner> runner);
    ~Hooks();  // what is still queued is dropped; running hooks finish (each within its timeout)

    bool wants(proto::HookKind kind) const override;
    void emit(proto::HookEvent event) override;
    void ask(proto::HookEvent event, std::function<void(bool allowed, std::string why)> answer) override;

private:
    struct Job {
        proto::HookEvent event;
        std::int64_t time_ms = 0;
        std::function<void(bool, std::string)> answer;  // set for a pre_upload question
    };
    void work();
    void notify(const Job& job);    // every hook that wants the event
    void decide(const Job& job);    // the pre_upload hooks in order, until one says no
    // One hook on one event: "" when it went well, else why not (for the log and a refusal).
    std::string run_hook(const HookSpec& spec, const Job& job);

    const std::vector<HookSpec> specs_;
    const std::size_t queue_limit_;
    const std::string node_;
    std::unique_ptr<HookRunner> runner_;
    std::bitset<proto::hook_kind_count> wanted_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;  // guarded by mutex_
    bool stopping_ = false;  // guarded by mutex_
    std::vector<std::thread> threads_;
};

// Whether any hook runs a program (so the helper must be forked at start).
bool hooks_run_programs(const std::vector<HookSpec>& specs);

}  // namespace ferry::app
