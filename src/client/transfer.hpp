// The data path of one transfer: stream a file over a data connection (or back), then read the
// reply that ends it, and describe any interruption so the user knows how to resume.
#pragma once
#include "client/control.hpp"
#include "client/progress.hpp"
#include "client/session.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ferry::client {

inline constexpr std::size_t transfer_block = 4 << 20;  // large blocks: the client must not be the bottleneck

struct TransferOutcome {
    bool complete = false;      // data moved and the server confirmed (226/250)
    std::uint64_t moved = 0;    // bytes moved in this run
    std::string problem;        // why it is not complete, for messages
    std::optional<Reply> final; // the closing reply, when one arrived
    bool connection_lost = false;
    bool interrupted = false;   // Ctrl-C: ABOR was sent, the partial file is kept
};

class BackgroundDigest;

// Sends bytes [offset, size) of `file_fd` on `data`, then ends the data stream and reads the
// closing reply. Never throws for network trouble: it is reported in the outcome.
TransferOutcome upload(Session& session, Channel data, const File& file, std::uint64_t offset, std::uint64_t size,
                       Progress& progress);
// Receives into `file_fd` from `offset` until the server ends the stream, then reads the reply.
// `digest` receives every block as it is written.
TransferOutcome download(Session& session, Channel data, const File& file, std::uint64_t offset, Progress& progress,
                         BackgroundDigest& digest);
// Receives a listing (LIST/NLST) into a string; throws ClientError when it fails.
std::string receive_text(Session& session, Channel data, std::string_view action);

// "sent 27.0 MiB in 0.3 s (90.0 MiB/s)"
std::string transfer_summary(std::string_view verb, const Progress& progress);

}  // namespace ferry::client
