// Errors in unit tests: the tests run on POSIX and compare what failed with errno values (EXDEV,
// ENOENT, 0 for success), which reads closest to the system calls they exercise. Only here:
// src/ compares Errc values.
#pragma once
#include "sys/error.hpp"
#include "sys/posix/errno.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ferry {

inline bool operator==(const Error& error, int errno_value) { return sys::to_errno(error) == errno_value; }

}  // namespace ferry

namespace doctest {
template <>
struct StringMaker<ferry::Error> {
    static String convert(const ferry::Error& error) {
        return error ? String(("Error(" + error.message() + ")").c_str()) : String("ok");
    }
};
}  // namespace doctest
