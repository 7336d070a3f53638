#include "proto/xferlog.hpp"

#include "base/log.hpp"
#include "sys/file.hpp"
#include "sys/time.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace ferry::proto {

const char* xfer_kind_name(XferKind kind) {
    switch (kind) {
        case XferKind::download: return "download";
        case XferKind::upload: return "upload";
        case XferKind::listing: return "listing";
    }
    return "transfer";
}

// As many lines as the server log queues; a dropped line is reported in the server log, never
// in the xferlog, whose readers expect every line in its format.
XferLog::XferLog()
    : writer_(65536, [](std::uint64_t dropped) {
          log::warn(cat(dropped, " xferlog lines dropped: the xferlog could not keep up"));
          return std::string();
      }) {}

bool XferLog::open(const std::string& path) {
    if (path.empty()) return true;
    std::FILE* f = sys::open_log_file(path);
    if (!f) return false;
    writer_.switch_to(f);
    on_ = true;
    return true;
}

std::string format_xfer_line(const XferRecord& r, std::int64_t unix_now) {
    const std::tm local = sys::local_time(unix_now);
    // "%a %b %e %H:%M:%S %Y", spelled out: %e (the space-padded day) is not in every C library.
    char day_and_month[16], clock_and_year[24], stamp[48];
    std::strftime(day_and_month, sizeof day_and_month, "%a %b", &local);
    std::strftime(clock_and_year, sizeof clock_and_year, "%H:%M:%S %Y", &local);
    std::snprintf(stamp, sizeof stamp, "%s %2d %s", day_and_month, local.tm_mday, clock_and_year);
    // Whitespace would break the field-splitting every xferlog reader does.
    std::string path = r.path;
    for (char& c : path)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';
    const long seconds = std::lround(std::ceil(r.seconds < 1 ? 1 : r.seconds));
    return cat(stamp, ' ', seconds, ' ', r.remote_ip, ' ', r.bytes, ' ', path, ' ', r.type == DataType::ascii ? 'a' : 'b', " _ ",
               r.kind == XferKind::upload ? 'i' : 'o', " r ", r.user, " ftp 0 * ", r.complete ? 'c' : 'i');
}

void XferLog::write(const XferRecord& record) {
    if (!on_) return;
    writer_.push(format_xfer_line(record, std::time(nullptr)) + "\n");
}

}  // namespace ferry::proto
