// The one place that picks the platform's native handle types (the rest includes sys/handle.hpp).
#pragma once
#if defined(_WIN32)
#include "sys/windows/native.hpp"
#else
#include "sys/posix/native.hpp"
#endif
