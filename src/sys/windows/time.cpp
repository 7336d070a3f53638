// sys/time.hpp on Windows: the C runtime's _s conversions (thread-safe; the argument order is
// the reverse of POSIX's _r ones).
#include "sys/time.hpp"

#include <time.h>

namespace ferry::sys {

std::tm utc_time(std::int64_t unix_seconds) {
    const __time64_t t = unix_seconds;
    std::tm tm{};
    if (_gmtime64_s(&tm, &t) != 0) {
        const __time64_t epoch = 0;
        _gmtime64_s(&tm, &epoch);
    }
    return tm;
}

std::tm local_time(std::int64_t unix_seconds) {
    const __time64_t t = unix_seconds;
    std::tm tm{};
    if (_localtime64_s(&tm, &t) != 0) return utc_time(0);
    return tm;
}

std::int64_t unix_seconds_of_utc(std::tm utc) { return static_cast<std::int64_t>(_mkgmtime64(&utc)); }

void load_time_zone() { _tzset(); }

}  // namespace ferry::sys
