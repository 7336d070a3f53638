// POSIX: files, folders and sockets are all file descriptors.
#pragma once

namespace ferry::sys {

struct FileTraits {
    using Native = int;
    static constexpr Native invalid = -1;
    static void close(Native fd) noexcept;
};

struct SocketTraits {
    using Native = int;
    static constexpr Native invalid = -1;
    static void close(Native fd) noexcept;
};

}  // namespace ferry::sys
