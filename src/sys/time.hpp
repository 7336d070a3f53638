// Calendar time: the thread-safe conversions, which are spelled differently on every platform.
#pragma once
#include <cstdint>
#include <ctime>

namespace ferry::sys {

// Seconds since 1970 as a UTC calendar time; 1970-01-01 for values the platform cannot convert.
std::tm utc_time(std::int64_t unix_seconds);
// The same in the server's local time zone (xferlog).
std::tm local_time(std::int64_t unix_seconds);
// The inverse of utc_time (timegm).
std::int64_t unix_seconds_of_utc(std::tm utc);
// Reads the time zone now, before confinement hides /etc/localtime.
void load_time_zone();

}  // namespace ferry::sys
