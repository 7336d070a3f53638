#include "sys/time.hpp"

namespace ferry::sys {

std::tm utc_time(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (::gmtime_r(&t, &tm) == nullptr) {
        const std::time_t epoch = 0;
        ::gmtime_r(&epoch, &tm);
    }
    return tm;
}

std::tm local_time(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (::localtime_r(&t, &tm) == nullptr) return utc_time(0);
    return tm;
}

std::int64_t unix_seconds_of_utc(std::tm utc) { return static_cast<std::int64_t>(::timegm(&utc)); }

void load_time_zone() { ::tzset(); }

}  // namespace ferry::sys
