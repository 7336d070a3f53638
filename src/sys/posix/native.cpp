#include "sys/posix/native.hpp"

#include <unistd.h>

namespace ferry::sys {

void FileTraits::close(Native fd) noexcept { ::close(fd); }
void SocketTraits::close(Native fd) noexcept { ::close(fd); }

}  // namespace ferry::sys
