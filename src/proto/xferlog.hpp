// The transfer log in the wu-ftpd/vsftpd xferlog format, one line per finished transfer, so the
// usual log analysers read it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <mutex>
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

class XferLog {
public:
    XferLog() = default;
    ~XferLog();
    XferLog(const XferLog&) = delete;
    XferLog& operator=(const XferLog&) = delete;
    // "" = off. False when the file cannot be opened for appending.
    bool open(const std::string& path);
    void write(const XferRecord& record);

private:
    std::mutex mutex_;
    std::FILE* file_ = nullptr;
};

// The line without its newline (exposed for the unit test).
std::string format_xfer_line(const XferRecord& record, std::int64_t unix_now);

}  // namespace ferry::proto
