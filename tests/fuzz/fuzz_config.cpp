// The config loader: every input is either a Config or a ConfigError whose message starts with a
// key or the file name; no other exception escapes, and limits hold on what is accepted.
#include "app/config.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const ferry::app::Config config = ferry::app::parse_config(text, "fuzz.toml");
        if (config.listen.empty() || config.max_line < 64 || config.ban_time_max < config.ban_time) std::abort();
        if (config.passive_port_min > config.passive_port_max) std::abort();
    } catch (const ferry::app::ConfigError& e) {
        if (std::string(e.what()).empty()) std::abort();
    }
    return 0;
}
