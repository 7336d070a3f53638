// What a session tells the [[hook]]s (proto/hook_event.hpp): the events after their replies, the
// upload's digests once computed, and the pre_upload question before a STOR opens its file.
#include "proto/session.hpp"

#include "fs/hash.hpp"
#include "fs/listing.hpp"
#include "proto/upload_digest.hpp"

#include <atomic>

namespace ferry::proto {
namespace {

// How long an upload's event waits for its digests before it goes without them.
constexpr auto digests_wait = std::chrono::seconds(30);

std::string digest_name(fs::HashAlgo algo) {
    std::string name = fs::hash_algo_name(algo);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
}

}  // namespace

HookEvent Session::hook_event(HookKind kind, std::string path) const {
    HookEvent event;
    event.kind = kind;
    event.user = login_.user;
    event.path = std::move(path);
    event.client = line_.peer.ip();
    event.session = id_;
    return event;
}

void Session::hook_done(HookKind kind, const std::string& path, int reply_code, std::optional<std::string> target) {
    if (!hook_wanted(kind)) return;
    HookEvent event = hook_event(kind, path);
    event.reply = reply_code;
    event.target = std::move(target);
    ctx_.hooks->emit(std::move(event));
}

void Session::transfer_ended(XferKind kind, std::uint64_t bytes, bool complete, double seconds, int reply_code) {
    auto transfer = std::exchange(hook_transfer_, std::nullopt);
    if (kind == XferKind::listing || !transfer) return;
    if (reply_code == 552) hook_done(HookKind::quota, transfer->path, 552);
    const HookKind hook = kind == XferKind::upload ? HookKind::upload : HookKind::download;
    if (!hook_wanted(hook)) return;
    HookEvent event = hook_event(hook, transfer->path);
    event.bytes = bytes;
    event.complete = complete;
    event.seconds = seconds;
    event.reply = reply_code;
    if (hook == HookKind::download) return ctx_.hooks->emit(std::move(event));
    event.offset = transfer->offset;
    event.size = transfer->offset + bytes;
    if (!transfer->digest || !complete) {
        event.note = transfer->digest ? "the upload was cut: no digests" : "no digests (ASCII upload, or upload_digests = [])";
        return ctx_.hooks->emit(std::move(event));
    }
    send_with_digests(std::move(event), std::move(transfer->digest));
}

// When the digests are kept, or after digests_wait without them: whichever comes first sends the
// event, once. Neither waits on this session, which may be gone by then.
void Session::send_with_digests(HookEvent event, std::shared_ptr<UploadDigest> digest) {
    struct Pending {
        HookEvent event;
        std::shared_ptr<UploadDigest> digest;
        HookSink* sink;
        std::atomic<bool> sent{false};
    };
    auto pending = std::make_shared<Pending>();
    pending->event = std::move(event);
    pending->digest = digest;
    pending->sink = ctx_.hooks;
    const auto send = [pending](bool in_time) {
        if (pending->sent.exchange(true)) return;
        for (auto& [algo, hex] : pending->digest->results()) pending->event.digests.emplace_back(digest_name(algo), hex);
        if (!in_time) pending->event.note = "digests not ready after 30 s: sent without the missing ones";
        else if (pending->event.digests.empty()) pending->event.note = "no digests: the file changed or went before they were done";
        pending->digest.reset();
        pending->sink->emit(std::move(pending->event));
    };
    digest->when_done([send] { send(true); });
    // Somebody waits for them now: the catch-up leaves idle time for the bulk lane (as for a HASH).
    if (!ctx_.config.upload_digests.empty()) digest->when_kept(ctx_.config.upload_digests.front(), [] {});
    reactor_.add_timer(std::chrono::duration_cast<std::chrono::milliseconds>(digests_wait), [send] { send(false); });
}

void Session::ask_pre_upload(const std::string& target, std::uint64_t offset, std::function<void(CommandToken)> go,
                             CommandToken command) {
    HookEvent event = hook_event(HookKind::pre_upload, target);
    event.offset = offset;
    // Move-only (it holds the command): shared, so that the sink's std::function can carry it.
    auto answer = std::make_shared<std::function<void(bool, std::string)>>();
    auto decide = std::make_shared<CommandToken>(std::move(command));
    *answer = lifetime_.guard([this, target, go = std::move(go), decide](bool allowed, std::string why) {
        if (allowed) return go(std::move(*decide));
        log::info(subject(), cat("upload of ", fs::displayed_name(target), " refused by a pre_upload hook: ", why));
        reply(550, cat("Upload refused: ", why));
        decide->complete();
    });
    ctx_.hooks->ask(std::move(event), [reactor = &reactor_, answer](bool allowed, std::string why) {
        reactor->post([answer, allowed, why = std::move(why)]() mutable { (*answer)(allowed, std::move(why)); });
    });
}

}  // namespace ferry::proto
