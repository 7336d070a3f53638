// LIST/NLST patterns: a name taken for a pattern (is_list_pattern) is matched with our own matcher
// against names; the star cap and the matcher's single-star backtracking must keep every match
// fast (libFuzzer's -timeout catches a slow one), and a name without * ? [ is never a pattern.
// Patterns of only '*', '?' and plain bytes must match exactly as fnmatch(FNM_PERIOD) does.
#include "fs/listing_stream.hpp"

#include <cstdint>
#include <cstdlib>
#include <fnmatch.h>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto split = input.find('\0');
    const std::string pattern = input.substr(0, split);
    const std::string name = split == std::string::npos ? std::string(200, 'a') : input.substr(split + 1);
    const bool is_pattern = ferry::fs::is_list_pattern(pattern);
    if (is_pattern && pattern.find_first_of("*?[") == std::string::npos) std::abort();
    if (!is_pattern || name.find('\0') != std::string::npos) return 0;
    bool matched = false;
    for (int i = 0; i < 8; ++i) matched = ferry::fs::matches_list_pattern(pattern, name);
    if (pattern.find_first_of("[\\") == std::string::npos &&
        matched != (::fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0))
        std::abort();
    return 0;
}
