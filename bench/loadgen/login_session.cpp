#include "login_session.hpp"

namespace bench {

void LoginSession::start_login(const sockaddr_in& server) {
    phase_ = Phase::Greeting;
    if (!open(server)) fail_login("socket/connect failed");
}

void LoginSession::fail_login(std::string_view why) {
    phase_ = Phase::Off;
    failure_ = std::string(why);
    close_connection();
    on_login_failed();
}

void LoginSession::on_reply(int code, std::string_view text) {
    switch (phase_) {
    case Phase::Greeting:
        if (code == 220) {
            phase_ = Phase::User;
            send_command("USER " + target_.user);
        } else if (code / 100 != 1) {
            fail_login(text);
        }
        return;
    case Phase::User:
        if (code == 331) {
            phase_ = Phase::Pass;
            send_command("PASS " + target_.password);
        } else if (code == 230) {
            phase_ = Phase::LoggedIn;
            on_logged_in();
        } else {
            fail_login(text);
        }
        return;
    case Phase::Pass:
        if (code == 230) {
            phase_ = Phase::LoggedIn;
            on_logged_in();
        } else {
            fail_login(text);
        }
        return;
    case Phase::LoggedIn:
        on_session_reply(code, text);
        return;
    case Phase::Off:
        return;
    }
}

void LoginSession::on_closed() {
    if (phase_ == Phase::LoggedIn) {
        phase_ = Phase::Off;
        on_session_closed();
    } else if (phase_ != Phase::Off) {
        fail_login(phase_ == Phase::Greeting ? "connection refused or closed before greeting"
                                             : "connection closed during login");
    }
}

}  // namespace bench
