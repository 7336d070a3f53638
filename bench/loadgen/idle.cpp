// Workload 4: N sessions logged in and idle. Sessions are added in steps (e.g. 100, 1000, 5000,
// 10000) so each step costs only the new logins. After each step every session sends one NOOP;
// those that answer are "held". Then the harness measures server memory and says "next" or "stop".
#include "login_session.hpp"
#include "workloads.hpp"

#include <memory>
#include <sstream>
#include <vector>

namespace bench {
namespace {

class IdleRamp;

class IdleSession : public LoginSession {
public:
    IdleSession(Reactor& reactor, const Target& target, IdleRamp& ramp) : LoginSession(reactor, target), ramp_(ramp) {}
    void probe();
    bool probe_pending() const { return probing_; }

protected:
    void on_logged_in() override;
    void on_login_failed() override;
    void on_session_reply(int code, std::string_view text) override;
    void on_session_closed() override;

private:
    IdleRamp& ramp_;
    bool probing_ = false;
};

class IdleRamp {
public:
    IdleRamp(const Options& options)
        : target_(target_from(options)), server_(make_address(target_.host, target_.port)),
          window_(static_cast<std::size_t>(options.number("window", 64))) {}

    // Logs in sessions until `total` have been tried (or the deadline); returns seconds spent.
    double grow_to(std::size_t total, Clock::time_point deadline) {
        auto start = Clock::now();
        total_ = total;
        growing_ = true;
        sessions_.reserve(total);
        while (sessions_.size() < total && in_flight_ < window_) launch();
        reactor_.run(deadline, [&] { return in_flight_ == 0 && sessions_.size() >= total; });
        growing_ = false;  // logins still in flight after a deadline finish, but start no others
        return seconds_since(start);
    }

    // One NOOP on every logged-in session; returns how many answered in time.
    std::size_t probe_all(Clock::time_point deadline) {
        answered_ = 0;
        std::size_t pending = 0, lost_before = lost_;
        for (auto& s : sessions_)
            if (s->logged_in()) {
                s->probe();
                ++pending;
            }
        reactor_.run(deadline, [&] { return answered_ + (lost_ - lost_before) >= pending; });
        return answered_;
    }

    void login_done(bool ok, const std::string& failure) {
        --in_flight_;
        ok ? ++logged_in_ : ++failed_;
        if (!ok && first_failure_.empty()) first_failure_ = failure;
        if (growing_ && sessions_.size() < total_) launch();
    }
    void answered() { ++answered_; }
    void lost() { ++lost_; }
    std::size_t lost_now() const { return lost_; }
    std::size_t failed() const { return failed_; }
    std::size_t tried() const { return sessions_.size(); }
    const std::string& first_failure() const { return first_failure_; }

private:
    void launch() {
        sessions_.push_back(std::make_unique<IdleSession>(reactor_, target_, *this));
        ++in_flight_;
        sessions_.back()->start_login(server_);
    }

    Target target_;
    sockaddr_in server_;
    std::size_t total_ = 0;
    bool growing_ = false;
    std::size_t window_;  // logins in flight at once; more only overflows listen backlogs
    Reactor reactor_;
    std::vector<std::unique_ptr<IdleSession>> sessions_;
    std::size_t in_flight_ = 0, logged_in_ = 0, failed_ = 0, lost_ = 0, answered_ = 0;
    std::string first_failure_;
};

void IdleSession::probe() {
    probing_ = true;
    send_command("NOOP");
}
void IdleSession::on_logged_in() { ramp_.login_done(true, ""); }
void IdleSession::on_login_failed() { ramp_.login_done(false, failure()); }
void IdleSession::on_session_reply(int, std::string_view) {
    if (!probing_) return;
    probing_ = false;
    ramp_.answered();
}
void IdleSession::on_session_closed() { ramp_.lost(); }

std::vector<std::size_t> parse_steps(const std::string& text) {
    std::vector<std::size_t> steps;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) steps.push_back(std::stoul(item));
    return steps;
}

}  // namespace

int run_idle(const Options& options) {
    raise_fd_limit();
    IdleRamp ramp(options);
    auto step_seconds = options.number("step-seconds", 120);
    for (std::size_t target : parse_steps(options.text("steps", "100,1000"))) {
        auto deadline = Clock::now() + std::chrono::seconds(step_seconds);
        double login_seconds = ramp.grow_to(target, deadline);
        std::size_t held = ramp.probe_all(Clock::now() + std::chrono::seconds(15));
        ResultLine()
            .add("target", static_cast<std::int64_t>(target))
            .add("tried", static_cast<std::int64_t>(ramp.tried()))
            .add("held", static_cast<std::int64_t>(held))
            .add("failed", static_cast<std::int64_t>(ramp.failed()))
            .add("lost", static_cast<std::int64_t>(ramp.lost_now()))
            .add("login_seconds", login_seconds)
            .add("first_failure", ramp.first_failure())
            .print();
        if (wait_for_harness() != "next") break;
    }
    return 0;
}

}  // namespace bench
