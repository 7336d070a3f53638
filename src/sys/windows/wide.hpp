// Private to src/*/windows: UTF-8 (the wire, the config, our strings) to and from UTF-16 (every
// W function), and Win32/NTSTATUS/WSA codes to Errors. Names that are not valid UTF-8 are refused
// rather than replaced, so two different byte strings never name the same file.
#pragma once
#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ferry::sys::windows {

std::optional<std::wstring> to_wide(std::string_view utf8);
std::string to_utf8(std::wstring_view wide);
// A path of the server's own files ("C:/ferry/users.toml", "/tmp/x", which wine maps to Z:):
// UTF-16 with '/' turned into '\'.
std::wstring native_path(std::string_view utf8);

Error from_win32(unsigned long code);
Error last_win32_error();      // GetLastError()
Error last_socket_error();     // WSAGetLastError()
Error from_ntstatus(long status);

}  // namespace ferry::sys::windows
