// Listing text: `ls -l` lines as vsftpd prints them, RFC 3659 facts, and UTC timestamps.
// Month names and dates are formatted by hand: strftime depends on the process locale.
#include "fs/listing.hpp"

#include "base/calendar.hpp"
#include "base/log.hpp"

#include "sys/time.hpp"

#include <algorithm>

#include <array>
#include <cctype>
#include <cstdio>

namespace ferry::fs {

namespace {

constexpr std::array<const char*, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
// vsftpd's cut-off between "Nov 27 04:25" and "Nov 27  2024": about six months.
constexpr std::time_t six_months = 60L * 60 * 24 * 182;

using sys::FileType;

char type_letter(FileType type) {
    switch (type) {
        case FileType::directory: return 'd';
        case FileType::symlink: return 'l';
        case FileType::fifo: return 'p';
        case FileType::socket: return 's';
        case FileType::char_device: return 'c';
        case FileType::block_device: return 'b';
        case FileType::regular:
        case FileType::other: break;
    }
    return '-';
}

// One rwx triplet; `special` (setuid/setgid/sticky) shows as s/S (or t/T) in the execute slot.
void append_triplet(std::string& out, std::uint32_t mode, std::uint32_t r, std::uint32_t w, std::uint32_t x,
                    std::uint32_t special, char special_letter) {
    out += (mode & r) ? 'r' : '-';
    out += (mode & w) ? 'w' : '-';
    const bool exec = mode & x;
    if (mode & special)
        out += exec ? special_letter : static_cast<char>(special_letter - 'a' + 'A');
    else
        out += exec ? 'x' : '-';
}

// The permission bits are the POSIX ones on every platform (FileInfo::permissions).
std::string permission_string(const FileInfo& info) {
    const std::uint32_t mode = info.permissions;
    std::string out(1, type_letter(info.type));
    append_triplet(out, mode, 0400, 0200, 0100, 04000, 's');
    append_triplet(out, mode, 0040, 0020, 0010, 02000, 's');
    append_triplet(out, mode, 0004, 0002, 0001, 01000, 't');
    return out;
}

// "Nov 27 04:25" for recent times, "Nov 27  2024" for old or future ones (UTC, like vsftpd).
std::string list_date(std::time_t mtime, std::time_t now) {
    const std::tm tm = sys::utc_time(mtime);
    const bool recent = mtime <= now && now - mtime <= six_months;
    char buf[32];
    if (recent)
        std::snprintf(buf, sizeof buf, "%s %02d %02d:%02d", month_names[tm.tm_mon], tm.tm_mday,
                      tm.tm_hour, tm.tm_min);
    else
        std::snprintf(buf, sizeof buf, "%s %02d  %d", month_names[tm.tm_mon], tm.tm_mday,
                      tm.tm_year + 1900);
    return buf;
}

std::string padded_left(std::string text, std::size_t width) {
    if (text.size() < width) text.insert(0, width - text.size(), ' ');
    return text;
}

std::string padded_right(std::string_view text, std::size_t width) {
    std::string out(text);
    if (out.size() < width) out.append(width - out.size(), ' ');
    return out;
}

std::string_view mlsx_type(const FileInfo& info) {
    if (info.is_directory()) return "dir";
    if (info.is_symlink()) return "OS.unix=symlink";
    return "file";
}

// RFC 3659 7.5.5, for what the user may do. A link that cannot be followed can only be
// deleted or renamed.
std::string_view mlsx_perm(const FileInfo& info) {
    if (info.is_directory()) return "flcdmpe";
    if (info.is_symlink()) return "df";
    return "adfrw";
}


// The decimal value of text[pos, pos+len), all digits; -1 otherwise.
std::int64_t digits_at(std::string_view text, std::size_t pos, std::size_t len) {
    std::int64_t value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
        if (text[i] < '0' || text[i] > '9') return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

}  // namespace

// A CR or LF in a file name would end the line early (and let a name forge listing lines).
std::string displayed_name(std::string_view name) {
    std::string out(name);
    for (char& c : out)
        if (c == '\r' || c == '\n') c = '?';
    return out;
}

std::string list_line(const DirEntry& entry, std::string_view owner, std::time_t now) {
    const FileInfo& info = entry.info;
    std::string line = permission_string(info);
    line += ' ';
    line += padded_left(std::to_string(info.links), 4);
    line += ' ';
    line += padded_right(owner, 8);
    line += ' ';
    line += padded_right(owner, 8);
    line += ' ';
    line += padded_left(std::to_string(info.size), 8);
    line += ' ';
    line += list_date(static_cast<std::time_t>(info.mtime), now);
    line += ' ';
    line += displayed_name(entry.name);
    line += "\r\n";
    return line;
}

std::string mlsx_facts(const FileInfo& info, std::string_view owner, std::string_view type_override,
                       const FactSet& wanted, std::span<const KeptDigest> digests) {
    std::string facts;
    if (wanted.has(Fact::type)) facts += cat("type=", type_override.empty() ? mlsx_type(info) : type_override, ';');
    if (wanted.has(Fact::size) && info.is_regular()) facts += cat("size=", info.size, ';');
    if (wanted.has(Fact::modify)) facts += cat("modify=", utc_timestamp(static_cast<std::time_t>(info.mtime)), ';');
    if (wanted.has(Fact::perm)) facts += cat("perm=", mlsx_perm(info), ';');
    if (wanted.has(Fact::unique)) {
        char unique[48];
        std::snprintf(unique, sizeof unique, "unique=%llxg%llx;", static_cast<unsigned long long>(info.id.device),
                      static_cast<unsigned long long>(info.id.inode));
        facts += unique;
    }
    if (wanted.has(Fact::unix_mode)) {
        char mode[32];
        std::snprintf(mode, sizeof mode, "UNIX.mode=%04o;", static_cast<unsigned>(info.permissions & 07777));
        facts += mode;
    }
    // A fact value ends at ';' and the facts at ' ': neither may come from the name.
    std::string name(owner);
    std::replace_if(name.begin(), name.end(), [](char c) { return c == ';' || c == ' ' || c == '='; }, '_');
    if (wanted.has(Fact::unix_owner)) facts += cat("UNIX.owner=", name, ';');
    if (wanted.has(Fact::unix_group)) facts += cat("UNIX.group=", name, ';');
    for (const KeptDigest& digest : digests) {
        std::string fact = cat("X.", hash_algo_name(digest.algo));
        std::transform(fact.begin() + 2, fact.end(), fact.begin() + 2, [](unsigned char c) { return std::tolower(c); });
        facts += cat(fact, '=', digest.hex, ';');
    }
    return facts;
}

std::string mlsx_line(const DirEntry& entry, std::string_view owner, std::string_view type_override,
                      const FactSet& wanted, std::span<const KeptDigest> digests) {
    return mlsx_facts(entry.info, owner, type_override, wanted, digests) + " " + displayed_name(entry.name) + "\r\n";
}

std::string utc_timestamp(std::time_t t) {
    const std::tm tm = sys::utc_time(t);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::int64_t parse_utc_timestamp(std::string_view text) {
    if (text.size() < 14) return -1;
    if (text.size() > 14) {
        // Optional fraction ".s" .. ".sss", ignored (file times here are whole seconds).
        if (text[14] != '.' || text.size() == 15 || text.size() > 18) return -1;
        if (digits_at(text, 15, text.size() - 15) < 0) return -1;
    }
    const std::int64_t year = digits_at(text, 0, 4), month = digits_at(text, 4, 2),
                       day = digits_at(text, 6, 2), hour = digits_at(text, 8, 2),
                       minute = digits_at(text, 10, 2), second = digits_at(text, 12, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60)
        return -1;
    if (day > days_in_month(year, static_cast<unsigned>(month))) return -1;
    const std::int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

}  // namespace ferry::fs
