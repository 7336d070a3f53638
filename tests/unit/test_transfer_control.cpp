// The transfer state machine (proto/transfer_control.hpp) against a fake stream and fake data
// connections: every phase, every way back to idle, and completions that come too late.
#include "proto/transfer_control.hpp"

#include "net/tls_context.hpp"
#include "support/fake_stream.hpp"
#include "support/loopback.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace ferry;
using namespace ferry::proto;
using namespace ferry::testing;
using namespace std::chrono_literals;

namespace {

struct Host final : TransferHost {
    std::vector<std::pair<int, std::string>> replies;
    void reply(int code, std::string_view text) override { replies.emplace_back(code, std::string(text)); }
    void reply_quota_exceeded() override { replies.emplace_back(552, "Quota exceeded"); }
    log::Subject subject() const override { return log::Subject{7, "192.0.2.1", "tester"}; }
    void transfer_ended(XferKind, std::uint64_t, bool, double, int code) override { ended_codes.push_back(code); }
    std::vector<int> ended_codes;
    int tickets = 0;  // renew_tls_ticket calls
    void renew_tls_ticket() override { ++tickets; }
    std::vector<int> codes() const {
        std::vector<int> out;
        for (const auto& [code, text] : replies) out.push_back(code);
        return out;
    }
};

// An upload budget that grants what is left of `limit`.
class Budget final : public UploadBudget {
public:
    explicit Budget(std::uint64_t limit) : left_(limit) {}
    void grant(std::uint64_t wanted, Granted granted) override { granted({}, std::min(wanted, left_)); }
    void settle(std::uint64_t, std::uint64_t used) override { left_ -= std::min(used, left_); }

private:
    std::uint64_t left_;
};

// The transfers' storage work, off the reactor thread as FERRY_CHECK_REACTOR wants it, waited
// for (these files are local and small).
void in_place(std::function<void()> work, std::function<void()> then) {
    std::thread(std::move(work)).join();
    then();
}

struct Rig {
    explicit Rig(TransferRules rules = {}) {
        auto fake = std::make_unique<FakeData>(reactor);
        data = fake.get();
        rules.tls = &tls;
        control = std::make_unique<TransferControl>(reactor, host, std::move(fake), xferlog, rules);
    }

    CommandToken token() { return CommandToken(reactor, owner.token(), [this] { ++completed; }); }
    // Lets every completion already queued run.
    void turn() { run_for(reactor, 5ms); }

    void start_listing(std::string text, DataProtection protection = {}) {
        control->start("Here comes the directory listing.",
                       [text](std::unique_ptr<net::Stream> stream) { return make_text_download(std::move(stream), text); },
                       XferRecord{.kind = XferKind::listing, .remote_ip = "127.0.0.1", .path = "/", .user = "u"}, protection, token());
    }
    void start_download(File file, std::uint64_t offset, std::uint64_t end) {
        auto shared = std::make_shared<File>(std::move(file));
        control->start("Opening BINARY mode data connection.",
                       [shared, offset, end](std::unique_ptr<net::Stream> stream) {
                           return make_file_download(std::move(stream), std::move(*shared), offset, end, DataType::binary,
                                                     in_place);
                       },
                       XferRecord{.kind = XferKind::download, .remote_ip = "127.0.0.1", .path = "/f", .user = "u"}, {}, token());
    }
    void start_upload(File file, std::uint64_t quota, QuotaDrain drain = {64 << 10, 60s}) {
        auto shared = std::make_shared<File>(std::move(file));
        control->start("Ok to send data.",
                       [shared, quota, drain](std::unique_ptr<net::Stream> stream) {
                           return make_file_upload(std::move(stream), std::move(*shared), 0, DataType::binary,
                                                   std::make_unique<Budget>(quota), drain, in_place);
                       },
                       XferRecord{.kind = XferKind::upload, .remote_ip = "127.0.0.1", .path = "/up", .user = "u"}, {}, token());
    }
    // Open the data connection now.
    void connect() {
        data->connect(wire);
        turn();
    }

    net::Reactor reactor;
    Host host;
    XferLog xferlog;  // off
    net::TlsContext tls;
    FakeData* data = nullptr;
    std::unique_ptr<TransferControl> control;
    Lifetime owner;
    int completed = 0;
    std::shared_ptr<Wire> wire = std::make_shared<Wire>(reactor);
};

const std::vector<int> aborted{150, 426, 226};

}  // namespace

TEST_CASE("a listing runs opening -> running -> idle: 150, the bytes, 226, the command completed once") {
    Rig rig;
    rig.start_listing("a\r\nb\r\n");
    CHECK(rig.control->phase() == TransferControl::Phase::opening);
    CHECK(rig.host.codes() == std::vector<int>{150});
    rig.connect();
    CHECK(rig.control->phase() == TransferControl::Phase::running);
    REQUIRE(rig.wire->write_pending());
    CHECK(rig.wire->written == 6);
    rig.wire->finish_write({}, 6);
    rig.turn();
    CHECK(rig.host.codes() == std::vector<int>{150, 226});
    CHECK(rig.control->phase() == TransferControl::Phase::idle);
    CHECK(rig.completed == 1);
    CHECK_FALSE(rig.wire->alive);  // the data connection is closed
    CHECK(rig.control->record().complete);
    CHECK(rig.control->record().bytes == 6);
}

TEST_CASE("ABOR while opening: 426 and 226, and the connection that comes later is dropped") {
    Rig rig;
    rig.start_listing("x");
    const auto late = rig.data->stale_callback();
    rig.control->abort_command();
    CHECK(rig.host.codes() == aborted);
    CHECK(rig.completed == 1);
    CHECK(rig.control->phase() == TransferControl::Phase::idle);
    late({}, std::make_unique<FakeStream>(rig.wire));  // a delivery a real channel would not make
    rig.turn();
    CHECK(rig.host.codes() == aborted);
    CHECK(rig.completed == 1);
    CHECK_FALSE(rig.wire->alive);
}

TEST_CASE("ABOR during the TLS handshake of a PROT P data connection") {
    Rig rig;
    rig.start_listing("x", DataProtection{.tls = true, .control_tag = "tag"});
    rig.connect();
    CHECK(rig.control->phase() == TransferControl::Phase::securing);
    CHECK(rig.wire->tickets_off);  // data connections never issue tickets
    rig.wire->finish_handshake({});  // queued before the ABOR is handled
    rig.control->abort_command();
    rig.turn();
    CHECK(rig.host.codes() == aborted);
    CHECK(rig.completed == 1);
    CHECK_FALSE(rig.wire->alive);
}

TEST_CASE("ABOR while running, with the transfer's completion already queued: one final reply") {
    Rig rig;
    rig.start_listing("0123456789");
    rig.connect();
    rig.wire->in_flight = 4;
    CHECK(rig.control->bytes_so_far() == 4);
    rig.wire->finish_write({}, 10);  // the transfer is done, but its callback has not run yet
    rig.control->abort_command();
    rig.turn();
    CHECK(rig.host.codes() == aborted);  // no 226 "Transfer complete" after the abort
    CHECK(rig.completed == 1);
    CHECK_FALSE(rig.control->record().complete);
    CHECK(rig.control->record().bytes == 4);
}

TEST_CASE("ABOR with no transfer: 225, the data connection set-up forgotten") {
    Rig rig;
    REQUIRE(rig.control->data().listen_passive(0, 0).ok());
    rig.control->abort_command();
    CHECK(rig.host.codes() == std::vector<int>{225});
    CHECK_FALSE(rig.control->data().configured());
    CHECK(rig.completed == 0);
}

TEST_CASE("the data timeout ends a stalled transfer with 426, a stalled handshake with 425") {
    const auto now = std::chrono::steady_clock::now();
    SUBCASE("running") {
        Rig rig(TransferRules{.data_timeout = 1000ms});
        rig.start_listing("abc");
        rig.connect();
        rig.control->check_progress(now + 500ms);
        rig.wire->in_flight = 1;  // progress: the clock starts again
        rig.control->check_progress(now + 1400ms);
        CHECK(rig.control->active());
        rig.control->check_progress(now + 2600ms);
        CHECK(rig.host.codes() == std::vector<int>{150, 426});
        CHECK(rig.completed == 1);
        rig.turn();
        CHECK_FALSE(rig.wire->alive);
    }
    SUBCASE("securing") {
        Rig rig(TransferRules{.data_timeout = 1000ms});
        rig.start_listing("abc", DataProtection{.tls = true, .control_tag = "tag"});
        rig.connect();
        rig.control->check_progress(now + 500ms);
        CHECK(rig.control->phase() == TransferControl::Phase::securing);
        rig.control->check_progress(now + 5s);
        CHECK(rig.host.codes() == std::vector<int>{150, 425});
        CHECK(rig.completed == 1);
    }
}

TEST_CASE("a failed open is 425; a data connection that does not resume TLS is 522 unless reuse is optional") {
    SUBCASE("open fails") {
        Rig rig;
        rig.start_listing("x");
        rig.data->fail(Errc::timed_out);
        rig.turn();
        CHECK(rig.host.codes() == std::vector<int>{150, 425});
        CHECK(rig.completed == 1);
    }
    SUBCASE("handshake fails") {
        Rig rig;
        rig.start_listing("x", DataProtection{.tls = true, .control_tag = "tag"});
        rig.connect();
        rig.wire->finish_handshake(Errc::protocol);
        rig.turn();
        CHECK(rig.host.codes() == std::vector<int>{150, 425});
    }
    SUBCASE("not resumed, reuse required") {
        Rig rig;
        rig.wire->resumed = false;
        rig.start_listing("x", DataProtection{.tls = true, .control_tag = "tag"});
        rig.connect();
        rig.wire->finish_handshake({});
        rig.turn();
        CHECK(rig.host.codes() == std::vector<int>{150, 522});
        CHECK(rig.completed == 1);
        CHECK(rig.host.tickets == 0);
    }
    SUBCASE("resumed: the control connection offers the client a new ticket, once") {
        Rig rig;
        rig.start_listing("x", DataProtection{.tls = true, .control_tag = "tag"});
        rig.connect();
        CHECK(rig.host.tickets == 0);
        rig.wire->finish_handshake({});
        rig.turn();
        CHECK(rig.control->phase() == TransferControl::Phase::running);
        CHECK(rig.host.tickets == 1);
    }
    SUBCASE("not resumed, reuse optional") {
        Rig rig(TransferRules{.tls_session_reuse = TlsSessionReuse::optional});
        rig.wire->resumed = false;
        rig.start_listing("x", DataProtection{.tls = true, .control_tag = "tag"});
        rig.connect();
        rig.wire->finish_handshake({});
        rig.turn();
        CHECK(rig.control->phase() == TransferControl::Phase::running);
        rig.wire->finish_write({}, 1);
        rig.turn();  // then close_notify, which the fake completes at once
        rig.turn();
        CHECK(rig.host.codes() == std::vector<int>{150, 226});
        CHECK(rig.host.tickets == 0);
    }
}

TEST_CASE("REST and RANG are taken by the next transfer once") {
    TempDir dir("transfer-control");
    Rig rig;
    rig.control->set_restart(100);
    CHECK(rig.control->take_restart() == 100);
    CHECK(rig.control->take_restart() == 0);
    rig.control->set_range({5, 9});
    const auto range = rig.control->take_range();
    REQUIRE(range);
    CHECK(range->start == 5);
    CHECK(range->end == 9);
    CHECK_FALSE(rig.control->take_range());
    rig.control->set_restart(7);
    rig.control->set_range({1, 2});
    rig.control->forget_markers();
    CHECK(rig.control->take_restart() == 0);
    CHECK_FALSE(rig.control->take_range());

    // A download from a restart offset asks the stream for the rest of the file only.
    rig.start_download(dir.create("f", std::vector<char>(1000, 'x')), 300, 1000);  // the session ends it at the size
    rig.connect();
    REQUIRE(rig.wire->write_pending());
    CHECK(rig.wire->file_offset == 300);
    CHECK(rig.wire->file_count == 700);
    rig.wire->finish_write({}, 700);
    rig.turn();
    CHECK(rig.host.codes() == std::vector<int>{150, 226});
    CHECK(rig.control->record().bytes == 700);
}

TEST_CASE("the quota stop: bytes past the quota are dropped until the client closes, then 552") {
    TempDir dir("transfer-control");
    Rig rig;
    rig.start_upload(dir.create("up", {}), 10);
    rig.connect();
    REQUIRE(rig.wire->read_pending());
    CHECK(rig.wire->file_count == 10);  // the budget: all that is left of the quota
    rig.wire->finish_read({}, 10);     // recv_to_file filled the grant
    rig.turn();
    REQUIRE(rig.wire->read_pending());  // is there more? (the budget is spent)
    rig.wire->finish_read_with("more");
    rig.turn();
    CHECK(rig.control->bytes_so_far() == 10);
    rig.wire->finish_read({}, 0);  // the client closed: no unread bytes, a clean end
    rig.turn();
    CHECK(rig.host.codes() == std::vector<int>{150, 552});
    CHECK(rig.completed == 1);
    CHECK(rig.control->record().bytes == 10);
}

TEST_CASE("a client that stalls while its bytes are dropped gets the 552 at the data timeout") {
    TempDir dir("transfer-control");
    Rig rig(TransferRules{.data_timeout = 1000ms});
    rig.start_upload(dir.create("up", {}), 0);
    rig.connect();
    rig.wire->finish_read_with("over");
    rig.turn();
    REQUIRE(rig.wire->read_pending());
    const auto now = std::chrono::steady_clock::now();
    rig.control->check_progress(now);
    rig.control->check_progress(now + 2s);
    CHECK(rig.host.codes() == std::vector<int>{150, 552});
    CHECK(rig.completed == 1);
}

TEST_CASE("how an upload ends: the file system's errors are ours (451/452/552), the connection's are 426") {
    TempDir dir("transfer-control");
    const std::pair<Error, int> cases[] = {{Errc::quota, 552}, {Errc::no_space, 452}, {Errc::io, 451}, {Errc::reset, 426}};
    for (const auto& [err, code] : cases) {
        CAPTURE(err.message());
        Rig rig;
        rig.start_upload(dir.create("up", {}), 1 << 20);
        rig.connect();
        rig.wire->finish_read(err, 3);
        rig.turn();
        CHECK(rig.host.codes() == std::vector<int>{150, code});
        CHECK(rig.completed == 1);
        CHECK(rig.control->record().bytes == 3);
        CHECK_FALSE(rig.control->record().complete);
    }
}

TEST_CASE("abort() when the session closes sends no reply and completes the command from the loop") {
    Rig rig;
    rig.start_listing("x");
    rig.connect();
    rig.control->abort();
    CHECK(rig.host.codes() == std::vector<int>{150});
    CHECK(rig.completed == 0);  // not now: the session must not run its queue while closing
    rig.turn();
    CHECK(rig.completed == 1);
    CHECK(rig.control->phase() == TransferControl::Phase::idle);
}

TEST_CASE("a command token completes once: explicitly, or from the loop when dropped") {
    net::Reactor reactor;
    Lifetime owner;
    int finished = 0;
    {
        CommandToken token(reactor, owner.token(), [&] { ++finished; });
        CHECK(token.pending());
        CommandToken moved = std::move(token);
        CHECK_FALSE(token.pending());
        moved.complete();
        moved.complete();
        CHECK(finished == 1);
    }
    {
        CommandToken dropped(reactor, owner.token(), [&] { ++finished; });
    }
    CHECK(finished == 1);
    run_for(reactor, 5ms);
    CHECK(finished == 2);
    {
        CommandToken orphan(reactor, owner.token(), [&] { ++finished; });
        owner.renew();  // its session is gone
    }
    run_for(reactor, 5ms);
    CHECK(finished == 2);
}
