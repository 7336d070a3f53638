// A scratch folder for one test, and reading a whole file back. Header-only: each test file
// includes it.
#pragma once
#include "errors.hpp"
#include "sys/handle.hpp"

#include <doctest/doctest.h>

#include "sys/file.hpp"

#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::testing {

// A fresh folder <temp>/ferry-<tag>-XXXXXX, removed with everything in it when the test ends.
class TempDir {
public:
    explicit TempDir(std::string_view tag) {
        // create_directory fails on a name that exists, so a taken one is simply the next try.
        std::random_device random;
        for (int attempt = 0; attempt < 100 && path.empty(); ++attempt) {
            const auto candidate = std::filesystem::temp_directory_path() /
                                   ("ferry-" + std::string(tag) + "-" + std::to_string(random() % 1000000000u));
            std::error_code error;
            if (std::filesystem::create_directory(candidate, error)) path = candidate.generic_string();
        }
        REQUIRE(!path.empty());
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // `name` (which may hold slashes) inside the folder.
    std::string file(std::string_view name) const { return path + "/" + std::string(name); }

    // Creates (or truncates) `name` holding `content`; open for reading and writing.
    File create(std::string_view name, const std::vector<char>& content) const {
        auto file_handle = sys::open_file(file(name), sys::OpenMode::scratch);
        REQUIRE(file_handle.ok());
        std::uint64_t wrote = 0;
        REQUIRE(!sys::write_all_at(*file_handle, content, 0, wrote));
        return std::move(*file_handle);
    }

    // Everything in `name`.
    std::vector<char> read(std::string_view name) const {
        std::vector<char> bytes(std::filesystem::file_size(file(name)));
        auto file_handle = sys::open_file(file(name), sys::OpenMode::read);
        REQUIRE(file_handle.ok());
        std::size_t got = 0;
        while (got < bytes.size()) {
            const auto n = sys::read_at(*file_handle, std::span<char>(bytes).subspan(got), got);
            REQUIRE(n.ok());
            if (*n == 0) break;
            got += *n;
        }
        REQUIRE(got == bytes.size());
        return bytes;
    }

    std::string path;
};

// The whole of the file at `path` ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace ferry::testing
