#include "proto/xferlog.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>
#include <vector>

TEST_CASE("xferlog lines have the 18 wu-ftpd fields, whitespace in names folded") {
#if defined(_WIN32)
    _putenv_s("TZ", "UTC");
    _tzset();
#else
    setenv("TZ", "UTC", 1);
#endif
    using namespace ferry::proto;
    XferRecord record{.kind = XferKind::upload, .type = DataType::binary, .remote_ip = "127.0.0.1",
                      .path = "/srv/alice/my file.bin", .user = "alice", .seconds = 2.4, .bytes = 1048576};
    const std::string line = ferry::proto::format_xfer_line(record, 1795753529);  // 2026-11-27 04:25:29 UTC
    std::istringstream fields(line);
    std::vector<std::string> parts;
    for (std::string part; fields >> part;) parts.push_back(part);
    REQUIRE(parts.size() == 18);
    CHECK(parts[0] == "Fri");
    CHECK(parts[1] == "Nov");
    CHECK(parts[2] == "27");
    CHECK(parts[4] == "2026");
    CHECK(parts[5] == "3");  // seconds, rounded up
    CHECK(parts[6] == "127.0.0.1");
    CHECK(parts[7] == "1048576");
    CHECK(parts[8] == "/srv/alice/my_file.bin");
    CHECK(parts[9] == "b");
    CHECK(parts[11] == "i");
    CHECK(parts[13] == "alice");
    CHECK(parts[17] == "c");
    record.complete = false;
    record.kind = XferKind::download;
    const std::string incomplete = ferry::proto::format_xfer_line(record, 1795753529);
    CHECK(incomplete.back() == 'i');
    CHECK(incomplete.find(" o r alice ") != std::string::npos);
}
