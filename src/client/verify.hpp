// Asking the server for file digests (HASH with RANG per draft-bryan-ftpext-hash-02, else XMD5 and
// friends) and checking transfers against the local file.
#pragma once
#include "client/options.hpp"
#include "client/pipeline.hpp"
#include "client/session.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ferry::client {

struct RemoteDigest {
    DigestAlgo algo;
    std::string hex;
    std::string via;  // "HASH" or "XMD5", for messages
};

class Verifier {
public:
    Verifier(Session& session, DigestAlgo wanted) : session_(session), wanted_(wanted) {}

    // The server's digest of the whole file; nullopt when it offers no way to hash. Throws
    // ReplyError when the file is missing or unreadable.
    std::optional<RemoteDigest> whole(const std::string& remote);
    // The server's digest of bytes [0, length) via RANG 0 length-1 + HASH (RANG's end point is
    // inclusive); nullopt when the server can't hash ranges.
    std::optional<RemoteDigest> prefix(const std::string& remote, std::uint64_t length);
    bool can_hash_prefix() const;

    // The server's whole-file digests of many files, the HASH commands sent a window at a time
    // before their replies are read (a round trip per window, not per file). A file without one
    // (missing, refused, a server without HASH) is nullopt.
    std::vector<std::optional<RemoteDigest>> whole_many(const std::vector<std::string>& remotes);

    // After put/get: compare local and server digests. Returns the digest both have; throws
    // ClientError naming both digests on a mismatch; nullopt (after a size check) when the server
    // offers neither HASH nor an X-command, with a warning once per run.
    // `mine` is the local digest when it was computed during the transfer (a get).
    std::optional<LocalDigest> verify_transfer(const std::string& local, const std::string& remote,
                                               const std::optional<LocalDigest>& mine = std::nullopt);
    // The algorithm verify_transfer() will compare with, so a get can hash while receiving.
    DigestAlgo planned_algo() const { return hash_algo().value_or(wanted_); }

    void set_wanted(DigestAlgo algo) { wanted_ = algo; }
    DigestAlgo wanted() const { return wanted_; }
    // The algorithm HASH uses with this server: the wanted one if offered, else a common one.
    std::optional<DigestAlgo> hash_algo() const;

private:
    bool select(DigestAlgo algo);
    std::optional<RemoteDigest> via_hash(const std::string& remote, std::optional<std::uint64_t> prefix_length);
    std::optional<RemoteDigest> via_x_command(const std::string& remote);
    // "213 SHA-256 0-49 169cd2... name" -> the digest; nullopt when the server ignored a range.
    std::optional<RemoteDigest> parse_hash_reply(const std::string& remote, const Reply& reply, DigestAlgo algo,
                                                 std::optional<std::uint64_t> prefix_length);
    // HASH of the whole file, with `local_work` done while the server computes its digest.
    std::optional<RemoteDigest> whole_overlapped(const std::string& remote, const std::function<void(DigestAlgo)>& local_work);
    // The fallback check without digests: SIZE against the local size.
    void check_sizes(const std::string& local, const std::string& remote);

    Session& session_;
    DigestAlgo wanted_;
    bool x_command_refused_ = false;
};

}  // namespace ferry::client
