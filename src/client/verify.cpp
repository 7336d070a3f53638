#include "client/verify.hpp"

#include "base/log.hpp"
#include "client/digest.hpp"
#include "client/errors.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cctype>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

namespace ferry::client {
namespace {

std::size_t hex_length(DigestAlgo algo) {
    switch (algo) {
        case DigestAlgo::md5: return 32;
        case DigestAlgo::sha1: return 40;
        case DigestAlgo::sha256: return 64;
        case DigestAlgo::sha512: return 128;
    }
    return 32;
}

bool is_hex(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

const char* x_command(DigestAlgo algo) {
    switch (algo) {
        case DigestAlgo::md5: return "XMD5";
        case DigestAlgo::sha1: return "XSHA1";
        case DigestAlgo::sha256: return "XSHA256";
        case DigestAlgo::sha512: return "XSHA512";
    }
    return "XMD5";
}

// Once per run, however many sessions a -j opens.
std::atomic<bool> warned_once{false};

bool not_supported(int code) { return code == 500 || code == 502 || code == 504; }

// HASH takes a while on big files, and a busy server answers 450: try a few times, then give up.
Reply command_with_patience(Session& session, const std::string& line) {
    Reply reply;
    for (int attempt = 0; attempt < 3; ++attempt) {
        reply = session.slow_command(line);
        if (reply.code != 450) return reply;
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return reply;
}

}  // namespace

std::optional<DigestAlgo> Verifier::hash_algo() const {
    const auto& offered = session_.features().hash_algos;
    if (!session_.features().hash || offered.empty()) return std::nullopt;
    if (std::find(offered.begin(), offered.end(), wanted_) != offered.end()) return wanted_;
    // The server can't do the one asked for: any common algorithm still proves the content.
    for (DigestAlgo fallback : {DigestAlgo::sha256, DigestAlgo::sha512, DigestAlgo::sha1, DigestAlgo::md5}) {
        if (std::find(offered.begin(), offered.end(), fallback) != offered.end()) return fallback;
    }
    return std::nullopt;
}

bool Verifier::can_hash_prefix() const { return session_.features().rang && hash_algo().has_value(); }

bool Verifier::select(DigestAlgo algo) {
    if (session_.selected_hash() == algo) return true;
    const Reply reply = session_.command(cat("OPTS HASH ", digest_name(algo)));
    if (reply.code != 200) return false;
    session_.selected_hash() = algo;
    return true;
}

std::optional<RemoteDigest> Verifier::via_hash(const std::string& remote, std::optional<std::uint64_t> prefix_length) {
    const auto algo = hash_algo();
    if (!algo || !select(*algo)) return std::nullopt;
    if (prefix_length) {
        const Reply rang = session_.command(cat("RANG 0 ", *prefix_length - 1));
        if (rang.code != 350) return std::nullopt;
    }
    return parse_hash_reply(remote, command_with_patience(session_, cat("HASH ", remote)), *algo, prefix_length);
}

std::optional<RemoteDigest> Verifier::parse_hash_reply(const std::string& remote, const Reply& reply, DigestAlgo algo,
                                                       std::optional<std::uint64_t> prefix_length) {
    if (reply.code == 550 || reply.code == 553) throw_refusal(cat("hash ", remote), reply);
    if (reply.code != 213) return std::nullopt;
    // "213 SHA-256 0-49 169cd2... filename.ext"
    std::istringstream words(reply.text());
    std::string name, range, hex;
    words >> name >> range >> hex;
    if (parse_digest_algo(name) != algo || !is_hex(hex) || hex.size() != hex_length(algo))
        throw ClientError(cat("can't read the server's HASH reply: ", reply.summary()));
    if (prefix_length && range != cat("0-", *prefix_length - 1)) return std::nullopt;  // range ignored
    return RemoteDigest{algo, lowercase(hex), "HASH"};
}

std::optional<RemoteDigest> Verifier::via_x_command(const std::string& remote) {
    if (x_command_refused_) return std::nullopt;
    const char* name = x_command(wanted_);
    const Reply reply = command_with_patience(session_, cat(name, " ", remote));
    if (not_supported(reply.code)) {
        x_command_refused_ = true;
        return std::nullopt;
    }
    if (reply.code == 550 || reply.code == 553) throw_refusal(cat("hash ", remote), reply);
    if (!reply.positive_completion()) return std::nullopt;
    // Formats differ ("250 <hex>", "213 <path> <hex>"): take the word of the right length.
    std::istringstream words(reply.text());
    std::string word;
    for (int i = 0; i < 64 && words >> word; ++i) {
        if (word.size() == hex_length(wanted_) && is_hex(word)) return RemoteDigest{wanted_, lowercase(word), name};
    }
    return std::nullopt;
}

std::optional<RemoteDigest> Verifier::whole(const std::string& remote) {
    if (auto digest = via_hash(remote, std::nullopt)) return digest;
    return via_x_command(remote);
}

std::optional<RemoteDigest> Verifier::prefix(const std::string& remote, std::uint64_t length) {
    if (length == 0 || !can_hash_prefix()) return std::nullopt;
    return via_hash(remote, length);
}

void Verifier::check_sizes(const std::string& local, const std::string& remote) {
    const auto info = sys::path_info(local);
    if (!info) throw ClientError(cat("can't check ", local, ": ", info.error().message()));
    const auto size = session_.size(remote);
    if (size && *size != info->size)
        throw ClientError(cat("size check FAILED for ", remote, ": local ", info->size, " bytes, server ", *size,
                              " bytes"));
}

std::optional<RemoteDigest> Verifier::whole_overlapped(const std::string& remote,
                                                       const std::function<void(DigestAlgo)>& local_work) {
    const auto algo = hash_algo();
    if (!algo || !select(*algo)) return via_x_command(remote);
    session_.send(cat("HASH ", remote));
    Reply reply;
    try {
        local_work(*algo);
    } catch (const ClientError&) {
        session_.slow_reply();  // keep the control connection in step, then report the local problem
        throw;
    }
    reply = session_.slow_reply();
    if (reply.code == 450) reply = command_with_patience(session_, cat("HASH ", remote));  // busy: ask again
    if (auto digest = parse_hash_reply(remote, reply, *algo, std::nullopt)) return digest;
    return via_x_command(remote);
}

std::vector<std::optional<RemoteDigest>> Verifier::whole_many(const std::vector<std::string>& remotes) {
    constexpr std::size_t window = 32;  // commands in flight: well inside any socket buffer
    std::vector<std::optional<RemoteDigest>> digests(remotes.size());
    const auto algo = hash_algo();
    if (!algo || remotes.empty() || !select(*algo)) return digests;
    for (std::size_t first = 0; first < remotes.size(); first += window) {
        const std::size_t end = std::min(remotes.size(), first + window);
        for (std::size_t i = first; i < end; ++i) session_.send(cat("HASH ", remotes[i]));
        for (std::size_t i = first; i < end; ++i) {
            const Reply reply = session_.slow_reply();
            try {
                digests[i] = parse_hash_reply(remotes[i], reply, *algo, std::nullopt);
            } catch (const ReplyError&) {
                // Gone or unreadable meanwhile: left without a digest; the caller decides.
            }
        }
    }
    return digests;
}

std::optional<LocalDigest> Verifier::verify_transfer(const std::string& local, const std::string& remote,
                                                     const std::optional<LocalDigest>& precomputed) {
    std::optional<LocalDigest> mine = precomputed;
    const auto local_digest = [&](DigestAlgo algo) {
        if (!mine || mine->algo != algo) mine = LocalDigest{algo, digest_file(local, algo, whole_file)};
    };
    // The server hashes its copy while we hash ours (a put; a get hashed while receiving).
    const auto server = whole_overlapped(remote, local_digest);
    if (!server) {
        if (!warned_once.exchange(true))
            std::cerr << "warning: the server offers neither HASH nor " << x_command(wanted_)
                      << ": transfers are only checked by size\n";
        check_sizes(local, remote);
        return std::nullopt;
    }
    local_digest(server->algo);  // X-commands use the wanted algorithm: may differ from the planned one
    if (mine->hex != server->hex)
        throw ClientError(cat("verification FAILED for ", remote, ": local ", digest_name(server->algo), " ",
                              mine->hex, " but the server's (", server->via, ") is ", server->hex));
    return mine;
}

}  // namespace ferry::client
