// The platform-free half of home_folders.hpp: the UTC stamps in retired homes' names.
#include "fs/home_folders.hpp"

#include "sys/time.hpp"

#include <charconv>
#include <cstdio>

namespace ferry::fs {
namespace {
constexpr std::size_t stamp_length = 16;  // "20261201T081500Z"

bool digits_at(std::string_view text, std::size_t at, std::size_t count, int& value) {
    const auto part = text.substr(at, count);
    const auto [end, err] = std::from_chars(part.data(), part.data() + part.size(), value);
    return err == std::errc() && end == part.data() + part.size() && part.size() == count;
}
}  // namespace

std::string utc_stamp(std::time_t now) {
    const std::tm utc = sys::utc_time(now);
    char text[64];
    std::snprintf(text, sizeof text, "%04d%02d%02dT%02d%02d%02dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                  utc.tm_hour, utc.tm_min, utc.tm_sec);
    return text;
}

std::time_t retired_at(std::string_view folder_name) {
    const auto dash = folder_name.rfind('-');
    if (dash == std::string_view::npos || folder_name.size() < dash + 1 + stamp_length) return -1;
    const std::string_view stamp = folder_name.substr(dash + 1, stamp_length);
    std::tm utc{};
    int year = 0, month = 0;
    if (!digits_at(stamp, 0, 4, year) || !digits_at(stamp, 4, 2, month) || !digits_at(stamp, 6, 2, utc.tm_mday) ||
        stamp[8] != 'T' || !digits_at(stamp, 9, 2, utc.tm_hour) || !digits_at(stamp, 11, 2, utc.tm_min) ||
        !digits_at(stamp, 13, 2, utc.tm_sec) || stamp[15] != 'Z')
        return -1;
    if (month < 1 || month > 12 || utc.tm_mday < 1 || utc.tm_mday > 31 || utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 60)
        return -1;
    utc.tm_year = year - 1900;
    utc.tm_mon = month - 1;
    return static_cast<std::time_t>(sys::unix_seconds_of_utc(utc));
}

}  // namespace ferry::fs
