// sys/terminal.hpp on Windows: the console. Echo goes off through SetConsoleMode on the input
// handle; the controlling terminal of a prompt with piped stdin is CONIN$/CONOUT$.
#include "sys/terminal.hpp"

#include "sys/windows/wide.hpp"

#include <windows.h>

#include <io.h>

namespace ferry::sys {

namespace {

DWORD std_handle_id(StdStream stream) {
    return stream == StdStream::input ? STD_INPUT_HANDLE : stream == StdStream::output ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE;
}

bool is_console(HANDLE handle) {
    DWORD mode = 0;
    return handle != INVALID_HANDLE_VALUE && handle != nullptr && GetConsoleMode(handle, &mode);
}

// One line, byte by byte (as on Linux, nothing past the newline is consumed). A console gives
// UTF-16 through ReadConsoleW; a pipe gives bytes.
std::optional<std::string> read_line_from(HANDLE handle, std::size_t max) {
    std::string line;
    if (is_console(handle)) {
        while (line.size() < max) {
            wchar_t c = 0;
            DWORD got = 0;
            if (!ReadConsoleW(handle, &c, 1, &got, nullptr) || got == 0) return line.empty() ? std::nullopt : std::optional(line);
            if (c == L'\n') break;
            if (c != L'\r') line += windows::to_utf8(std::wstring_view(&c, 1));
        }
        return line;
    }
    while (line.size() < max) {
        char c = 0;
        DWORD got = 0;
        if (!ReadFile(handle, &c, 1, &got, nullptr) || got == 0) return line.empty() ? std::nullopt : std::optional(line);
        if (c == '\n') break;
        line += c;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

bool is_terminal(StdStream stream) { return is_console(GetStdHandle(std_handle_id(stream))); }

unsigned terminal_columns() {
    CONSOLE_SCREEN_BUFFER_INFO info{};
    if (!GetConsoleScreenBufferInfo(GetStdHandle(STD_ERROR_HANDLE), &info)) return 0;
    return static_cast<unsigned>(info.srWindow.Right - info.srWindow.Left + 1);
}

bool enable_terminal_sequences(StdStream stream) {
    HANDLE console = GetStdHandle(std_handle_id(stream));
    DWORD mode = 0;
    if (!GetConsoleMode(console, &mode)) return false;
    if (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING) return true;
    return SetConsoleMode(console, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
}

std::optional<std::string> read_standard_input_line(std::size_t max) {
    return read_line_from(GetStdHandle(STD_INPUT_HANDLE), max);
}

std::optional<Tty> Tty::open() {
    File file(CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                          OPEN_EXISTING, 0, nullptr));
    if (!file) return std::nullopt;
    return Tty(std::move(file));
}

bool Tty::write(std::string_view text) const {
    HANDLE out = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                             OPEN_EXISTING, 0, nullptr);
    if (out == INVALID_HANDLE_VALUE) return false;
    const auto wide = windows::to_wide(text).value_or(std::wstring());
    DWORD wrote = 0;
    const bool ok = WriteConsoleW(out, wide.data(), static_cast<DWORD>(wide.size()), &wrote, nullptr);
    CloseHandle(out);
    return ok;
}

std::optional<std::string> Tty::read_line(std::size_t max) const { return read_line_from(file_.get(), max); }

struct EchoOff::Saved {
    HANDLE console;
    DWORD mode;
};

EchoOff::EchoOff(StdStream, EchoOffOptions options) { turn_off(GetStdHandle(STD_INPUT_HANDLE), options); }
EchoOff::EchoOff(const Tty& tty, EchoOffOptions options) { turn_off(tty.native(), options); }

void EchoOff::turn_off(File::Native terminal, EchoOffOptions options) {
    DWORD mode = 0;
    if (!GetConsoleMode(terminal, &mode)) return;
    if (options.discard_typed_ahead) FlushConsoleInputBuffer(terminal);
    // The console never echoes the Enter of a line read with echo off; callers that asked for
    // it get the newline from the caller's own end of line (echo_newline is POSIX's ECHONL).
    if (SetConsoleMode(terminal, mode & ~static_cast<DWORD>(ENABLE_ECHO_INPUT)))
        saved_ = std::make_unique<Saved>(Saved{terminal, mode});
}

EchoOff::~EchoOff() {
    if (saved_) SetConsoleMode(saved_->console, saved_->mode);
}

}  // namespace ferry::sys
