// The transfer log in the wu-ftpd/vsftpd xferlog format, one line per finished transfer, so the
// usual log analysers read it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry::proto {

struct XferRecord {
    double seconds = 0;
    std::string remote_ip;
    std::uint64_t bytes = 0;
    std::string path;        // as the user sees it, prefixed with the user's name: "/alice/docs/a.txt"
    bool ascii = false;
    bool incoming = false;   // upload
    std::string user;
    bool complete = true;
    bool listing = false;    // LIST/NLST/MLSD: logged as a line, not in the xferlog (files only)
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
