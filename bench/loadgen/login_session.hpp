// A control connection that logs in (220 → USER → 331 → PASS → 230) and then hands replies to
// the derived workload. Shared by the idle, small-file and storm workloads.
#pragma once
#include "common.hpp"
#include "ftp_conn.hpp"

#include <string>

namespace bench {

class LoginSession : public FtpControl {
public:
    LoginSession(Reactor& reactor, const Target& target) : FtpControl(reactor), target_(target) {}

    // Connects and logs in; exactly one of on_logged_in / on_login_failed follows.
    void start_login(const sockaddr_in& server);
    bool logged_in() const { return phase_ == Phase::LoggedIn; }
    const std::string& failure() const { return failure_; }

protected:
    virtual void on_logged_in() = 0;
    virtual void on_login_failed() = 0;
    // Replies after login, and the loss of a logged-in connection.
    virtual void on_session_reply(int code, std::string_view text) = 0;
    virtual void on_session_closed() = 0;

    void on_reply(int code, std::string_view text) final;
    void on_closed() final;

private:
    enum class Phase { Off, Greeting, User, Pass, LoggedIn };
    void fail_login(std::string_view why);

    const Target& target_;
    Phase phase_ = Phase::Off;
    std::string failure_;
};

}  // namespace bench
