// toml++ compiled once for the Windows build (Linux links Debian's shared libtomlplusplus).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
