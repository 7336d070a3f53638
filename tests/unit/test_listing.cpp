// Listing text: fixed stat values in, exact lines out.
#include "fs/listing.hpp"

#include <doctest/doctest.h>

using namespace ferry::fs;

namespace {

// 2025-11-27 04:25:00 UTC.
constexpr std::time_t nov27 = 1764217500;

using ferry::sys::FileType;

DirEntry entry_of(std::string name, FileType type, std::uint32_t permissions, std::uint64_t size, std::time_t mtime,
                  std::uint64_t links = 1) {
    DirEntry e;
    e.name = std::move(name);
    e.info.type = type;
    e.info.permissions = permissions;
    e.info.size = size;
    e.info.mtime = mtime;
    e.info.links = links;
    e.info.id = {0x803, 0x1a2};
    return e;
}

}  // namespace

TEST_CASE("list_line matches vsftpd's ls -l form") {
    const auto file = entry_of("name", FileType::regular, 0644, 1234, nov27);
    CHECK(list_line(file, "owner", nov27 + 3600) ==
          "-rw-r--r--    1 owner    owner        1234 Nov 27 04:25 name\r\n");

    const auto dir = entry_of("docs", FileType::directory, 0750, 4096, nov27, 3);
    CHECK(list_line(dir, "bob", nov27) ==
          "drwxr-x---    3 bob      bob          4096 Nov 27 04:25 docs\r\n");

    // Older than six months (and in the future): the year instead of the time.
    const auto old_file = entry_of("old", FileType::regular, 0600, 7, nov27);
    CHECK(list_line(old_file, "averylongusername", nov27 + 200L * 86400) ==
          "-rw-------    1 averylongusername averylongusername        7 Nov 27  2025 old\r\n");
    CHECK(list_line(old_file, "u", nov27 - 60) ==
          "-rw-------    1 u        u               7 Nov 27  2025 old\r\n");

    const auto link = entry_of("l", FileType::symlink, 0777, 3, nov27);
    CHECK(list_line(link, "u", nov27).substr(0, 11) == "lrwxrwxrwx ");
    const auto special = entry_of("s", FileType::regular, 04755 | 01000, 0, nov27);
    CHECK(list_line(special, "u", nov27).substr(0, 11) == "-rwsr-xr-t ");
    const auto no_exec = entry_of("s", FileType::directory, 02640 | 01000, 0, nov27);
    CHECK(list_line(no_exec, "u", nov27).substr(0, 11) == "drw-r-S--T ");
}

TEST_CASE("names with CR or LF cannot break a listing") {
    const auto evil = entry_of("a\r\n226 done", FileType::regular, 0644, 1, nov27);
    const auto line = list_line(evil, "u", nov27);
    CHECK(line.find('\n') == line.size() - 1);
    CHECK(line.find("a??226 done\r\n") != std::string::npos);
    const auto mlsx = mlsx_line(evil, "u");
    CHECK(mlsx.find('\n') == mlsx.size() - 1);
    CHECK(mlsx.find(" a??226 done\r\n") != std::string::npos);
}

TEST_CASE("MLSx facts per RFC 3659, with UNIX.mode, UNIX.owner and UNIX.group") {
    const auto file = entry_of("report.pdf", FileType::regular, 0644, 12, nov27);
    CHECK(mlsx_line(file, "alice") ==
          "type=file;size=12;modify=20251127042500;perm=adfrw;unique=803g1a2;"
          "UNIX.mode=0644;UNIX.owner=alice;UNIX.group=alice; report.pdf\r\n");
    const auto dir = entry_of("docs", FileType::directory, 0755, 4096, nov27);
    CHECK(mlsx_facts(dir.info, "bob") ==
          "type=dir;modify=20251127042500;perm=flcdmpe;unique=803g1a2;UNIX.mode=0755;UNIX.owner=bob;UNIX.group=bob;");
    CHECK(mlsx_line(dir, "bob", "cdir").rfind("type=cdir;modify=20251127042500;perm=flcdmpe;unique=803g1a2;", 0) == 0);
    CHECK(mlsx_facts(dir.info, "bob", "pdir").rfind("type=pdir;", 0) == 0);
    const auto link = entry_of("l", FileType::symlink, 0777, 3, nov27);
    CHECK(mlsx_facts(link.info, "u").rfind("type=OS.unix=symlink;modify=20251127042500;perm=df;unique=803g1a2;UNIX.mode=0777;", 0) == 0);
    // An owner can never add facts or end the fact list.
    CHECK(mlsx_facts(file.info, "a;b c=d").find("UNIX.owner=a_b_c_d;UNIX.group=a_b_c_d;") != std::string::npos);
}

TEST_CASE("OPTS MLST chooses the facts; the digest facts come only when asked for") {
    CHECK(FactSet::standard().names() == "type;size;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;");
    CHECK(feat_fact_list() ==
          "type*;size*;modify*;perm*;unique*;UNIX.mode*;UNIX.owner*;UNIX.group*;X.md5;X.sha-1;X.sha-256;X.sha-512;");
    const FactSet chosen = FactSet::parse("TYPE;size;x.SHA-256;X.nope;;modify");
    CHECK(chosen.names() == "type;size;modify;X.sha-256;");
    CHECK(chosen.digests() == std::vector<HashAlgo>{HashAlgo::sha256});
    CHECK(FactSet::parse("").names().empty());
    CHECK(FactSet::standard().digests().empty());

    const auto file = entry_of("a.txt", FileType::regular, 0644, 12, nov27);
    const std::vector<KeptDigest> kept{{HashAlgo::sha256, "ab12"}, {HashAlgo::md5, "cd34"}};
    CHECK(mlsx_line(file, "u", {}, chosen, kept) == "type=file;size=12;modify=20251127042500;X.sha-256=ab12;X.md5=cd34; a.txt\r\n");
    CHECK(mlsx_line(file, "u", {}, FactSet::parse("size"), {}) == "size=12; a.txt\r\n");
    CHECK(mlsx_line(file, "u", {}, FactSet(), {}) == " a.txt\r\n");  // no facts: the name alone
}

TEST_CASE("UTC timestamps format and parse") {
    CHECK(utc_timestamp(0) == "19700101000000");
    CHECK(utc_timestamp(nov27) == "20251127042500");
    CHECK(parse_utc_timestamp("20251127042500") == nov27);
    CHECK(parse_utc_timestamp("20251127042500.123") == nov27);
    CHECK(parse_utc_timestamp("19700101000000") == 0);
    CHECK(parse_utc_timestamp("20240229235959") == 1709251199);  // leap day
    for (std::time_t t : {std::time_t{1}, std::time_t{951782400}, nov27, std::time_t{4102444799}})
        CHECK(parse_utc_timestamp(utc_timestamp(t)) == t);

    CHECK(parse_utc_timestamp("") == -1);
    CHECK(parse_utc_timestamp("2025112704250") == -1);     // too short
    CHECK(parse_utc_timestamp("2025112704250x") == -1);    // not a digit
    CHECK(parse_utc_timestamp("20251327042500") == -1);    // month 13
    CHECK(parse_utc_timestamp("20230229000000") == -1);    // not a leap year
    CHECK(parse_utc_timestamp("20251127246000") == -1);    // hour 24
    CHECK(parse_utc_timestamp("20251127042500.") == -1);   // empty fraction
    CHECK(parse_utc_timestamp("20251127042500 ") == -1);   // trailing junk
    CHECK(parse_utc_timestamp("-2025112704250") == -1);
}
