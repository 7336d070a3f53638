#include "sys/native.hpp"

#include <windows.h>
#include <winsock2.h>

#include <cstdio>
#include <fcntl.h>
#include <io.h>

namespace ferry::sys {
namespace {

// stdout and stderr in binary mode, so that log lines and replies printed end in "\n" as on
// Linux (the C runtime's text mode writes "\r\n"). Here because every program links this file.
[[maybe_unused]] const bool binary_standard_streams = [] {
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    return true;
}();

}  // namespace

void FileTraits::close(Native handle) noexcept { ::CloseHandle(handle); }
void SocketTraits::close(Native socket) noexcept { ::closesocket(static_cast<SOCKET>(socket)); }

}  // namespace ferry::sys
