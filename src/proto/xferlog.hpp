// The transfer log in the wu-ftpd/vsftpd xferlog format, one line per finished transfer, so the
// usual log analysers read it.
#pragma once
#include "base/line_writer.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proto {

// LIST/NLST/MLSD are logged as a line, never in the xferlog (files only).
enum class XferKind { download, upload, listing };
enum class DataType { binary, ascii };  // TYPE I / TYPE A
const char* xfer_kind_name(XferKind kind);  // "download", "upload", "listing"

struct XferRecord {
    XferKind kind = XferKind::download;
    DataType type = DataType::binary;
    std::string remote_ip;
    std::string path;        // the file's path on the server: the home's folder, then the virtual path
    std::string user;
    double seconds = 0;
    std::uint64_t bytes = 0;
    bool complete = true;
};

// Lines go to the file through a writer thread of their own (LineWriter): a reactor that ends a
// transfer never waits for the disk. What is queued is written when the XferLog goes.
class XferLog {
public:
    XferLog();
    // "" = off. False when the file cannot be opened for appending.
    bool open(const std::string& path);
    void write(const XferRecord& record);

private:
    std::atomic<bool> on_{false};
    LineWriter writer_;
};

// The line without its newline (exposed for the unit test).
std::string format_xfer_line(const XferRecord& record, std::int64_t unix_now);

}  // namespace ferry::proto
