// Workload 6: a login storm (connections that log in, QUIT and reconnect as fast as they can) while
// one logged-in session sends NOOP every 10 ms. Reports that session's NOOP latency, first for a
// short quiet baseline and then during the storm.
#include "login_session.hpp"
#include "noop_probe.hpp"
#include "workloads.hpp"

#include <memory>
#include <vector>

namespace bench {
namespace {

struct StormTotals {
    std::size_t logins = 0, failures = 0;
    std::string first_failure;
    bool running = true;
};

class StormClient : public LoginSession {
public:
    StormClient(Reactor& reactor, const Target& target, const sockaddr_in& server, StormTotals& totals)
        : LoginSession(reactor, target), server_(server), totals_(totals) {}
    void begin() { start_login(server_); }

protected:
    void on_logged_in() override { send_command("QUIT"); }
    void on_login_failed() override {
        ++totals_.failures;
        if (totals_.first_failure.empty()) totals_.first_failure = failure();
        again();
    }
    void on_session_reply(int, std::string_view) override {
        // The QUIT answer: the login counted once the server accepted it; we close first.
        ++totals_.logins;
        close_connection();
        again();
    }
    void on_session_closed() override {
        ++totals_.logins;  // the server closed right after QUIT without a 221 we could read
        again();
    }

private:
    void again() {
        if (totals_.running) begin();
    }
    sockaddr_in server_;
    StormTotals& totals_;
};

}  // namespace

int run_storm(const Options& options) {
    raise_fd_limit();
    Target target = target_from(options);
    sockaddr_in server = make_address(target.host, target.port);
    auto connections = static_cast<std::size_t>(options.number("connections", 50));
    auto seconds = options.number("seconds", 10);
    auto baseline_seconds = options.number("baseline", 2);

    Reactor reactor;
    NoopProbe probe(reactor, target);
    probe.start_login(server);
    reactor.run(Clock::now() + std::chrono::seconds(30), [&] { return probe.ready || probe.failed; });
    if (!probe.ready) {
        ResultLine().add("error", "probe_login_failed:" + probe.failure()).print();
        return 1;
    }
    Latencies baseline, storm;
    PeriodicTimer timer(reactor, std::chrono::milliseconds(options.number("interval-ms", 10)), [&] { probe.tick(); });
    probe.record_into = &baseline;
    reactor.run(Clock::now() + std::chrono::seconds(baseline_seconds), [] { return false; });

    StormTotals totals;
    std::vector<std::unique_ptr<StormClient>> clients;
    probe.record_into = &storm;
    probe.skipped = 0;
    auto start = Clock::now();
    for (std::size_t i = 0; i < connections; ++i) {
        clients.push_back(std::make_unique<StormClient>(reactor, target, server, totals));
        clients.back()->begin();
    }
    reactor.run(start + std::chrono::seconds(seconds), [] { return false; });
    totals.running = false;
    double elapsed = seconds_since(start);
    ResultLine()
        .add("logins", static_cast<std::int64_t>(totals.logins))
        .add("login_failures", static_cast<std::int64_t>(totals.failures))
        .add("logins_per_s", static_cast<double>(totals.logins) / elapsed)
        .add("noops", static_cast<std::int64_t>(storm.count()))
        .add("noop_p50_ms", storm.percentile_ms(50))
        .add("noop_p99_ms", storm.percentile_ms(99))
        .add("noop_max_ms", storm.percentile_ms(100))
        .add("skipped_ticks", static_cast<std::int64_t>(probe.skipped))
        .add("probe_lost", static_cast<std::int64_t>(probe.lost))
        .add("base_p50_ms", baseline.percentile_ms(50))
        .add("base_p99_ms", baseline.percentile_ms(99))
        .add("first_failure", totals.first_failure.substr(0, 60))
        .print();
    return 0;
}

}  // namespace bench
