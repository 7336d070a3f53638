// A scratch folder for one test, and reading a whole file back. Header-only: each test file
// includes it.
#pragma once
#include "errors.hpp"
#include "sys/handle.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
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
        std::string tmpl =
            (std::filesystem::temp_directory_path() / ("ferry-" + std::string(tag) + "-XXXXXX")).string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // `name` (which may hold slashes) inside the folder.
    std::string file(std::string_view name) const { return path + "/" + std::string(name); }

    // Creates (or truncates) `name` holding `content`; open read-write at its end.
    File create(std::string_view name, const std::vector<char>& content, int extra_flags = 0) const {
        File fd(::open(file(name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | extra_flags, 0600));
        REQUIRE(fd);
        REQUIRE(::write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        return fd;
    }

    // Everything in `name`.
    std::vector<char> read(std::string_view name) const {
        std::vector<char> bytes(std::filesystem::file_size(file(name)));
        File fd(::open(file(name).c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(::pread(fd.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
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
