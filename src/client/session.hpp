// A logged-in FTP session: the control connection plus what the server said it supports (FEAT),
// TLS state, and passive data connections. Commands like put/get are built on top of this.
#pragma once
#include "client/control.hpp"
#include "client/options.hpp"
#include "client/tls.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::client {

struct Features {
    std::vector<DigestAlgo> hash_algos;  // HASH algorithms we also know, from FEAT
    bool hash = false;
    bool rang = false;   // "RANG STREAM": ranged HASH
    bool avbl = false;
    bool rest_stream = false;
    bool utf8 = false;
    bool mlst = false;                    // MLST and MLSD (RFC 3659)
    std::vector<std::string> mlst_facts;  // the facts offered, lower case: "size", "x.sha-256"
};

// "mkdir docs: permission denied (550 Can't create directory.)": the action, what the code means,
// and the server's own words.
std::string describe_refusal(std::string_view action, const Reply& reply);
[[noreturn]] void throw_refusal(std::string_view action, const Reply& reply);
// The path in a 257 reply: `257 "/some ""quoted"" dir" is current directory.` -> /some "quoted" dir
std::string quoted_path(const std::string& text);

class Session {
public:
    explicit Session(const Options& options);

    // TCP connect, greeting, and AUTH TLS when asked for.
    void connect();
    // USER/PASS; throws ReplyError with the server's reason when refused. Then FEAT, TYPE I, PROT P.
    void login(const std::string& user, const std::string& password);
    // SITE REGISTER name password [quota-bytes], before logging in.
    void register_user(const std::string& name, const std::string& password, std::optional<std::uint64_t> quota);
    // SITE ADDUSER, logged in as an admin.
    void add_user(const std::string& name, const std::string& password, std::optional<std::uint64_t> quota);
    // Another session to the same server as the same user, in the same remote folder: for
    // transfers in parallel. Throws ReplyError when the server refuses it (421 or 530 for too
    // many sessions), NetError when it cannot connect.
    std::unique_ptr<Session> open_another();
    // Back to "not logged in" on the same server: REIN, or a new connection where REIN is refused.
    void log_out();
    void quit() noexcept;

    Reply command(std::string_view line) { return control().command(line); }
    // For commands the server may take long over (HASH of a big file): ten times the timeout.
    Reply slow_command(std::string_view line);
    // The same in two halves, so the client can work (hash its own copy) while the server does.
    void send(std::string_view line) { control().send(line); }
    Reply slow_reply();
    // After Ctrl-C: ABOR, then the transfer's reply (426, or 226 if it had just finished) and
    // ABOR's own (226/225), so the next command starts on a clean control connection.
    void abort_transfer();
    // Sends `line` and throws (with `action` as context) unless the reply is 2xx/3xx.
    Reply expect_ok(std::string_view line, std::string_view action);

    const Features& features() const { return features_; }
    const std::string& user() const { return user_; }
    const Options& options() const { return options_; }

    // Opens a passive data connection (EPSV, else PASV), sends REST `offset` when non-zero, then
    // `command`; after the 1xx reply starts TLS on the data connection when PROT P is on.
    // Throws ReplyError (worded with `action`, e.g. "put a.bin") when REST or the command is refused.
    Channel start_transfer(std::string_view command, std::uint64_t offset, std::string_view action = {});
    // The reply that ends a transfer (226); throws ReplyError when it is not a success.
    Reply finish_transfer(std::string_view action);

    // SIZE; nullopt when the file does not exist or the server won't say.
    std::optional<std::uint64_t> size(const std::string& path);
    // AVBL: bytes free under the quota; nullopt when the server does not support it.
    std::optional<std::uint64_t> available(const std::string& path = "");

    // The algorithm HASH currently uses on the server (OPTS HASH), to avoid re-selecting it.
    std::optional<DigestAlgo>& selected_hash() { return selected_hash_; }

private:
    Control& control();
    void read_features();
    void protect_data();
    Channel open_passive();

    Options options_;
    std::unique_ptr<TlsContext> tls_;
    std::optional<Control> control_;
    Features features_;
    std::string user_;
    std::string password_;  // kept for open_another(); only in this process's memory
    bool epsv_refused_ = false;
    bool prot_private_ = false;
    std::optional<DigestAlgo> selected_hash_;
};

}  // namespace ferry::client
