// Windows: files and folders are HANDLEs, sockets are SOCKETs (a different type and close call).
// Declared without <windows.h>, which only src/*/windows/ files include.
#pragma once
#include <cstdint>

namespace ferry::sys {

struct FileTraits {
    using Native = void*;  // HANDLE
    static inline Native const invalid = reinterpret_cast<Native>(static_cast<std::intptr_t>(-1));
    static void close(Native handle) noexcept;
};

struct SocketTraits {
    using Native = std::uintptr_t;  // SOCKET
    static constexpr Native invalid = ~Native{0};  // INVALID_SOCKET
    static void close(Native socket) noexcept;
};

}  // namespace ferry::sys
