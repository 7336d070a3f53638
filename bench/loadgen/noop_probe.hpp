// One logged-in session that sends NOOP on each tick and times the answer: what an idle user feels
// while the other clients load the server. Shared by the storm and mixed workloads.
#pragma once
#include "login_session.hpp"

namespace bench {

class NoopProbe : public LoginSession {
public:
    NoopProbe(Reactor& reactor, const Target& target) : LoginSession(reactor, target) {}
    Latencies* record_into = nullptr;  // where answers go; switched from baseline to load
    std::size_t skipped = 0;           // ticks that found the previous NOOP still unanswered
    bool ready = false, failed = false, lost = false;

    void tick() {
        if (!ready || !record_into) return;
        if (outstanding_) {
            ++skipped;
            return;
        }
        outstanding_ = true;
        sent_at_ = Clock::now();
        send_command("NOOP");
    }
    // How long the NOOP still unanswered has waited so far (zero when none is).
    Clock::duration waiting() const { return outstanding_ ? Clock::now() - sent_at_ : Clock::duration{}; }

protected:
    void on_logged_in() override { ready = true; }
    void on_login_failed() override { failed = true; }
    void on_session_reply(int, std::string_view) override {
        if (!outstanding_) return;
        outstanding_ = false;
        if (record_into) record_into->add(Clock::now() - sent_at_);  // none: the measuring is over
    }
    void on_session_closed() override {
        ready = false;
        lost = true;
    }

private:
    bool outstanding_ = false;
    Clock::time_point sent_at_;
};

}  // namespace bench
