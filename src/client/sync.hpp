// sync up|down LOCAL REMOTE: makes the target folder hold what the source holds, moving only what
// differs. Sizes first; files of equal size are compared by digest: the server's kept one (listed
// as an MLSD fact by ferryd, else asked for with pipelined HASH commands) against one computed
// here. Servers without HASH are compared by size and modification time, which is said once. A
// shorter target is resumed once its prefix is proven the same; an equal file is not touched.
#pragma once
#include "client/batch.hpp"

#include <string>
#include <vector>

namespace ferry::client {

enum class Compare { digest, checksum_only, size_only };

struct SyncRequest {
    Direction direction = Direction::up;
    std::string local;
    std::string remote;
    bool remove = false;   // --delete: what the source no longer has goes from the target
    bool yes = false;      // --yes: delete without asking (needed without a terminal)
    bool dry_run = false;  // --dry-run: say what would be done, do nothing
    Compare compare = Compare::digest;
};

// "up|down LOCAL REMOTE [--delete] [--yes] [--dry-run] [--checksum-only|--size-only]"; throws
// ClientError with the usage.
SyncRequest parse_sync(const std::vector<std::string>& words);

void sync(Context& context, const SyncRequest& request);

}  // namespace ferry::client
