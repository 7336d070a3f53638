// Error::message on Windows: the system's words for a Win32 or WSA code (FormatMessageW).
#include "sys/error.hpp"

#include "sys/windows/wide.hpp"

#include <windows.h>

namespace ferry {

std::string Error::message() const {
    if (native_ == 0) return describe(code_);
    wchar_t* text = nullptr;
    const DWORD length = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                            FORMAT_MESSAGE_IGNORE_INSERTS,
                                        nullptr, static_cast<DWORD>(native_), 0, reinterpret_cast<wchar_t*>(&text), 0,
                                        nullptr);
    std::string message = length ? sys::windows::to_utf8(std::wstring_view(text, length)) : describe(code_);
    if (text) LocalFree(text);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == '.'))
        message.pop_back();
    return message;
}

}  // namespace ferry
