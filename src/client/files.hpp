// put and get: resume decision, quota pre-check, the transfer itself, and the digest check.
#pragma once
#include "client/options.hpp"
#include "client/pipeline.hpp"
#include "client/progress.hpp"
#include "client/session.hpp"
#include "client/verify.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ferry::client {

// What a many-file command already knows from its listings, so a file costs no SIZE of its own.
struct FileHint {
    bool listed = false;                       // remote_size is known
    std::optional<std::uint64_t> remote_size;  // nullopt: no such remote file
};

struct Context {
    Session& session;
    Verifier& verifier;
    const Options& options;
    // A many-file command speaks for the files (a line each, a total bar): a transfer keeps quiet.
    bool quiet = false;
    BatchProgress* batch = nullptr;  // its total is drawn under each file's bar
    std::size_t slot = 0;            // which of the batch's bars is this transfer's
    bool quota_checked = false;      // the batch asked AVBL once for all its files
};

struct FileOutcome {
    bool skipped = false;               // the user (or --skip) left the target as it was
    std::uint64_t moved = 0;            // bytes sent or received in this run
    std::optional<LocalDigest> proven;  // the digest both sides have; nullopt: checked by size only
};

// Each throws ClientError with a message for the user when the command fails; a skip is a success.
FileOutcome put_file(Context& context, const std::string& local, const std::string& remote, const FileHint& hint = {});
FileOutcome get_file(Context& context, const std::string& remote, const std::string& local, const FileHint& hint = {});
// Refuses before any byte moves when AVBL says `needed` bytes can't fit (the server's 552 stays
// the real guard); `what` names the command.
void check_quota_room(Session& session, const std::string& what, std::uint64_t needed);

// The last path component: "dir/a.txt" -> "a.txt".
std::string base_name(const std::string& path);

}  // namespace ferry::client
