#include "client/local.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>
#include <vector>

namespace ferry::client {
namespace fsys = std::filesystem;

std::string expand_home(std::string_view path) {
    if (path.empty() || path[0] != '~') return std::string(path);
    const bool separator = path.size() > 1 && (path[1] == '/' || path[1] == '\\');
    if (path.size() > 1 && !separator) return std::string(path);  // ~user: not expanded
    const char* home = std::getenv("HOME");
    if (!home || !*home) home = std::getenv("USERPROFILE");
    if (!home || !*home) return std::string(path);
    return std::string(home) + std::string(path.substr(1));
}

std::string local_directory() {
    std::error_code err;
    const fsys::path here = fsys::current_path(err);
    if (err) throw ClientError(cat("lpwd: ", err.message()));
    return here.string();
}

void change_local_directory(const std::string& path) {
    std::error_code err;
    fsys::current_path(expand_home(path), err);
    if (err) throw ClientError(cat("lcd ", path, ": ", err.message()));
}

void list_local(const std::string& path, bool long_format) {
    const std::string folder = expand_home(path.empty() ? std::string(".") : path);
    std::error_code err;
    struct Entry {
        std::string name;
        char kind;
        std::uintmax_t size;
    };
    std::vector<Entry> entries;
    for (fsys::directory_iterator it(folder, err), end; !err && it != end; it.increment(err)) {
        std::error_code ignored;
        const bool is_folder = it->is_directory(ignored);
        const bool is_link = it->is_symlink(ignored);
        const std::uintmax_t size = is_folder ? 0 : it->file_size(ignored);
        entries.push_back({it->path().filename().string(), is_link ? 'l' : is_folder ? 'd' : '-', ignored ? 0 : size});
    }
    if (err) throw ClientError(cat("lls ", folder, ": ", err.message()));
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    for (const Entry& entry : entries) {
        if (long_format) std::cout << entry.kind << ' ' << std::string(12 - std::min<std::size_t>(12, std::to_string(entry.size).size()), ' ')
                                   << entry.size << ' ';
        std::cout << entry.name << (entry.kind == 'd' && !long_format ? "/" : "") << "\n";
    }
}

int run_local_command(const std::string& command) {
    std::cout.flush();  // what the shell prints follows what we printed
    const int status = std::system(command.c_str());
    if (status == -1) throw ClientError(cat("!", command, ": cannot start the shell"));
    return status;
}

}  // namespace ferry::client
