// The local side of the shell: lcd, lpwd, lls, `!command`, and `~` in local paths.
#pragma once
#include <string>
#include <string_view>

namespace ferry::client {

// "~" and "~/rest" (also "~\rest" on Windows) with the user's home folder (HOME, or USERPROFILE
// where HOME is unset); any other path as it is.
std::string expand_home(std::string_view path);

// The process's current folder, where local paths are relative to (get and put use it).
std::string local_directory();
// lcd DIR: a ClientError naming DIR and the reason when it cannot be entered.
void change_local_directory(const std::string& path);
// lls [-l] [DIR]: the names in a local folder, sorted; -l adds the kind and the size.
void list_local(const std::string& path, bool long_format);
// !command: runs it with the system's shell (sh -c, cmd /c) and waits; its exit status.
int run_local_command(const std::string& command);

}  // namespace ferry::client
