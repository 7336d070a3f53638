// Owned OS handles: closed exactly once, movable, never copied. A File is a file or folder opened
// for access; a Socket a network endpoint. They are different types on every platform (on Windows
// a HANDLE and a SOCKET), so code that mixes them does not compile on Linux either.
#pragma once
#include "sys/native.hpp"

#include <utility>

namespace ferry::sys {

template <class Traits>
class Handle {
public:
    using Native = typename Traits::Native;

    Handle() = default;
    explicit Handle(Native native) : native_(native) {}
    ~Handle() { reset(); }
    Handle(Handle&& other) noexcept : native_(other.release()) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    Native get() const { return native_; }
    explicit operator bool() const { return native_ != Traits::invalid; }
    Native release() { return std::exchange(native_, Traits::invalid); }
    void reset(Native native = Traits::invalid) {
        if (native_ != Traits::invalid) Traits::close(native_);
        native_ = native;
    }

private:
    Native native_ = Traits::invalid;
};

using File = Handle<FileTraits>;
using Socket = Handle<SocketTraits>;

}  // namespace ferry::sys

namespace ferry {
using sys::File;
using sys::Socket;
}  // namespace ferry
