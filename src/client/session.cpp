#include "client/session.hpp"

#include "base/decimal.hpp"
#include "base/log.hpp"
#include "client/errors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iostream>
#include <sstream>

namespace ferry::client {
namespace {

const char* meaning_of(int code) {
    switch (code) {
        case 421: return "the server is closing the connection";
        case 425: return "no data connection";
        case 426: return "the transfer was aborted";
        case 450: return "the file is busy, try again";
        case 451: return "the server hit a local error";
        case 452: return "the server is out of storage";
        case 500: case 502: return "not supported by this server";
        case 501: return "bad argument";
        case 504: return "not supported with this argument";
        case 530: return "not logged in or not allowed";
        case 532: return "needs an account";
        case 550: return "not found or no permission";
        case 551: return "page type unknown";
        case 552: return "quota exceeded";
        case 553: return "file name not allowed";
        default: return code >= 500 ? "refused" : "failed";
    }
}

// "229 Entering Extended Passive Mode (|||6446|)" -> 6446.
std::optional<std::uint16_t> epsv_port(const Reply& reply) {
    const std::string text = reply.text();
    const auto open = text.find('(');
    if (open == std::string::npos || open + 4 >= text.size()) return std::nullopt;
    const char delim = text[open + 1];
    const auto start = open + 4;  // after "(|||"
    const auto end = text.find(delim, start);
    if (end == std::string::npos) return std::nullopt;
    const auto port = parse_decimal(std::string_view(text).substr(start, end - start));
    if (!port || *port == 0 || *port > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*port);
}

// "227 Entering Passive Mode (127,0,0,1,195,80)." -> 195*256+80. The address is ignored: data goes
// to the host the control connection reached (safer, and NAT-proof).
std::optional<std::uint16_t> pasv_port(const Reply& reply) {
    const std::string text = reply.text();
    auto pos = text.find_first_of("0123456789");
    std::vector<unsigned> numbers;
    while (pos != std::string::npos && pos < text.size() && numbers.size() < 6) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), value);
        if (ec != std::errc()) break;
        numbers.push_back(value);
        pos = static_cast<std::size_t>(end - text.data());
        if (pos >= text.size() || text[pos] != ',') break;
        ++pos;
    }
    if (numbers.size() != 6 || numbers[4] > 255 || numbers[5] > 255) return std::nullopt;
    const unsigned port = numbers[4] * 256 + numbers[5];
    if (port == 0) return std::nullopt;
    return static_cast<std::uint16_t>(port);
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::string uppercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

}  // namespace

// 257 "/some ""quoted"" dir" is current directory.  ->  /some "quoted" dir
std::string quoted_path(const std::string& text) {
    const auto open = text.find('"');
    if (open == std::string::npos) return text;
    std::string path;
    for (std::size_t i = open + 1; i < text.size(); ++i) {
        if (text[i] != '"') {
            path += text[i];
        } else if (i + 1 < text.size() && text[i + 1] == '"') {
            path += '"';
            ++i;
        } else {
            break;
        }
    }
    return path;
}

std::string describe_refusal(std::string_view action, const Reply& reply) {
    return cat(action, ": ", meaning_of(reply.code), " (", reply.summary(), ")");
}

void throw_refusal(std::string_view action, const Reply& reply) {
    throw ReplyError(reply.code, describe_refusal(action, reply));
}

Session::Session(const Options& options) : options_(options) {}

Control& Session::control() {
    if (!control_) throw NetError("not connected");
    return *control_;
}

void Session::connect() {
    control_.emplace(connect_to(options_.host, options_.port, options_.timeout), options_.trace);
    Reply greeting = control().read_reply();
    for (int waits = 0; greeting.code == 120 && waits < 10; ++waits) greeting = control().read_reply();
    if (greeting.code != 220) throw NetError(describe_refusal("the server refused the connection", greeting));
    if (!options_.tls) return;
    tls_ = std::make_unique<TlsContext>(!options_.insecure);
    const Reply auth = command("AUTH TLS");
    if (auth.code != 234) throw NetError(describe_refusal("the server does not offer TLS (AUTH TLS)", auth));
    control().start_tls(tls_->get(), options_.host);
    check_fingerprint(cat(options_.host, ":", options_.port), peer_fingerprint(control().channel().ssl()),
                      tls_->verifies());
}

void Session::login(const std::string& user, const std::string& password) {
    Reply reply = command(cat("USER ", user));
    if (reply.code == 331) reply = command(cat("PASS ", password));
    if (reply.code != 230 && reply.code != 202) throw_refusal(cat("login as ", user), reply);
    user_ = user;
    password_ = password;
    read_features();
    expect_ok("TYPE I", "binary mode (TYPE I)");
    if (options_.tls) protect_data();
}

void Session::register_user(const std::string& name, const std::string& password,
                            std::optional<std::uint64_t> quota) {
    std::string line = cat("SITE REGISTER ", name, " ", password);
    if (quota) line += cat(" ", *quota);
    const Reply reply = command(line);
    if (!reply.positive_completion()) throw_refusal(cat("create user ", name), reply);
    std::cout << reply.text() << "\n";
}

void Session::add_user(const std::string& name, const std::string& password, std::optional<std::uint64_t> quota) {
    std::string line = cat("SITE ADDUSER ", name, " ", password);
    if (quota) line += cat(" ", *quota);
    const Reply reply = command(line);
    if (!reply.positive_completion()) throw_refusal(cat("create user ", name, " (SITE ADDUSER)"), reply);
    std::cout << reply.text() << "\n";
}

std::unique_ptr<Session> Session::open_another() {
    const Reply where = expect_ok("PWD", "pwd");
    auto another = std::make_unique<Session>(options_);
    another->connect();
    another->login(user_, password_);
    const std::string folder = quoted_path(where.text());
    if (!folder.empty()) another->expect_ok(cat("CWD ", folder), cat("cd ", folder));
    return another;
}

void Session::log_out() {
    const Reply reply = command("REIN");
    user_.clear();
    password_.clear();
    if (reply.code == 220) return;
    quit();
    connect();
}

void Session::quit() noexcept {
    if (!control_) return;
    try {
        control_->command("QUIT");
    } catch (const ClientError&) {
        // Leaving anyway; a server that already closed is fine.
    }
    control_.reset();
}

Reply Session::expect_ok(std::string_view line, std::string_view action) {
    const Reply reply = command(line);
    if (!reply.ok()) throw_refusal(action, reply);
    return reply;
}

void Session::read_features() {
    features_ = Features{};
    const Reply reply = command("FEAT");
    if (reply.code != 211) return;  // an old server: no extensions
    for (const std::string& raw : reply.lines) {
        if (raw.empty() || raw[0] != ' ') continue;  // feature lines start with one space
        std::istringstream words(raw);
        std::string name, args;
        words >> name;
        std::getline(words, args);
        args.erase(0, args.find_first_not_of(' '));
        name = uppercase(name);
        if (name == "HASH") {
            features_.hash = true;
            std::istringstream list(args);
            std::string algo;
            for (int i = 0; i < 32 && std::getline(list, algo, ';'); ++i) {
                const bool selected = !algo.empty() && algo.back() == '*';
                if (selected) algo.pop_back();
                if (const auto known = parse_digest_algo(algo)) {
                    features_.hash_algos.push_back(*known);
                    if (selected) selected_hash_ = *known;
                }
            }
        } else if (name == "RANG") {
            features_.rang = uppercase(args).find("STREAM") != std::string::npos;
        } else if (name == "AVBL") {
            features_.avbl = true;
        } else if (name == "REST") {
            features_.rest_stream = uppercase(args).find("STREAM") != std::string::npos;
        } else if (name == "UTF8") {
            features_.utf8 = true;
        } else if (name == "MLST") {
            features_.mlst = true;
            std::istringstream list(args);
            std::string fact;
            for (int i = 0; i < 64 && std::getline(list, fact, ';'); ++i) {
                if (!fact.empty() && fact.back() == '*') fact.pop_back();
                if (!fact.empty()) features_.mlst_facts.push_back(lowercase(fact));
            }
        }
    }
    if (features_.utf8) command("OPTS UTF8 ON");  // a refusal changes nothing for us
}

void Session::protect_data() {
    expect_ok("PBSZ 0", "TLS data protection (PBSZ 0)");
    expect_ok("PROT P", "encrypted data connections (PROT P)");
    prot_private_ = true;
}

Channel Session::open_passive() {
    std::optional<std::uint16_t> port;
    if (!epsv_refused_) {
        const Reply reply = command("EPSV");
        if (reply.code == 229) port = epsv_port(reply);
        if (!port) epsv_refused_ = true;  // don't ask again in this session
    }
    if (!port) {
        const Reply reply = command("PASV");
        if (reply.code != 227) throw_refusal("opening a data connection (EPSV/PASV)", reply);
        port = pasv_port(reply);
        if (!port) throw ClientError(cat("can't read the PASV reply: ", reply.summary()));
    }
    Channel data = connect_to_port(control().channel().peer(), *port, options_.timeout);
    return data;
}

Channel Session::start_transfer(std::string_view transfer_command, std::uint64_t offset, std::string_view action) {
    Channel data = open_passive();
    if (offset > 0) {
        const Reply rest = command(cat("REST ", offset));
        if (rest.code != 350) throw_refusal(cat("restart at byte ", offset, " (REST)"), rest);
    }
    const Reply reply = command(transfer_command);
    if (!reply.preliminary()) throw_refusal(action.empty() ? transfer_command : action, reply);
    if (prot_private_) {
        // The server ties the data connection to this client by resuming the control connection's
        // TLS session (RFC 4217 section 10.2; vsftpd's require_ssl_reuse). With TLS 1.3 this is the
        // newest ticket the control connection received.
        data.start_tls(tls_->get(), options_.host, SSL_get_session(control().channel().ssl()));
        if (options_.trace)
            std::cerr << "   (data connection: TLS session " << (SSL_session_reused(data.ssl()) ? "reused" : "NOT reused")
                      << ")\n";
    }
    return data;
}

namespace {

// Another timeout for the control connection for one exchange, restored however it ends.
class ScopedTimeout {
public:
    ScopedTimeout(Channel& channel, Millis timeout) : channel_(channel), normal_(channel.timeout()) {
        channel_.set_timeout(timeout);
    }
    ~ScopedTimeout() { channel_.set_timeout(normal_); }
    ScopedTimeout(const ScopedTimeout&) = delete;
    ScopedTimeout& operator=(const ScopedTimeout&) = delete;

private:
    Channel& channel_;
    Millis normal_;
};

}  // namespace

Reply Session::slow_command(std::string_view line) {
    ScopedTimeout patience(control().channel(), control().channel().timeout() * 10);
    return control().command(line);
}

Reply Session::slow_reply() {
    ScopedTimeout patience(control().channel(), control().channel().timeout() * 10);
    return control().read_reply();
}

void Session::abort_transfer() {
    control().send("ABOR");
    const Reply first = control().read_reply();
    if (first.code == 225) return;  // nothing was running any more: ABOR's only reply
    // A second reply follows (426 then 226 for ABOR, or 226 for the transfer then 225), except
    // from servers that answer ABOR with one line: wait briefly, not the full timeout.
    ScopedTimeout brief(control().channel(), Millis(2000));
    try {
        control().read_reply();
    } catch (const NetError&) {
        // No second reply: fine.
    }
}

Reply Session::finish_transfer(std::string_view action) {
    // Servers may need a while after the last byte (fsync, quota accounting): be generous.
    Reply reply;
    {
        ScopedTimeout patience(control().channel(), control().channel().timeout() * 4);
        reply = control().read_reply();
    }
    if (!reply.positive_completion()) throw_refusal(action, reply);
    return reply;
}

std::optional<std::uint64_t> Session::size(const std::string& path) {
    const Reply reply = command(cat("SIZE ", path));
    if (reply.code != 213) return std::nullopt;
    return parse_decimal(reply.text());
}

std::optional<std::uint64_t> Session::available(const std::string& path) {
    const Reply reply = command(path.empty() ? std::string("AVBL") : cat("AVBL ", path));
    if (reply.code != 213) return std::nullopt;
    std::string text = reply.text();
    text.erase(std::find_if(text.begin(), text.end(), [](unsigned char c) { return !std::isdigit(c); }), text.end());
    return parse_decimal(text);
}

}  // namespace ferry::client
