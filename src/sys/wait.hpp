// Waiting on a descriptor from a thread that blocks on purpose (the PostgreSQL store's LISTEN
// thread waits on libpq's socket), never from a reactor thread.
#pragma once
#include <chrono>

namespace ferry::sys {

enum class Readiness { readable, timed_out, failed };
// `socket` is what the library gives (libpq's PQsocket: a descriptor, a SOCKET on Windows).
Readiness wait_readable(long long socket, std::chrono::milliseconds timeout);

}  // namespace ferry::sys
