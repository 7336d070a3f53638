// Private to src/fs/windows: the single place that opens a path beneath a folder handle.
//
// NtCreateFile with RootDirectory = the folder and a relative name, after every component was
// checked (no "..", ".", drive letters, "\\?\", alternate data streams "name:stream", reserved
// device names CON, NUL, COM1..., trailing dots or spaces, which Windows strips and so aliases),
// with FILE_OPEN_REPARSE_POINT so that a final symlink or junction is opened, never followed; and
// after the open, the handle's final path (GetFinalPathNameByHandleW) must lie within the root's:
// wine follows Unix symlinks silently, so that check is what holds there.
#pragma once
#include "base/result.hpp"
#include "sys/handle.hpp"

#include <string>
#include <string_view>

#include <windows.h>

namespace ferry::fs::windows {

enum class Disposition : unsigned long { open = 1, create = 2, open_or_create = 3, overwrite_or_create = 5 };

struct OpenRequest {
    ACCESS_MASK access = FILE_READ_ATTRIBUTES;
    Disposition disposition = Disposition::open;
    unsigned long options = 0;  // FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE, ...
};

// `relative` is "a/b/c" (a vpath made relative) or "." for the folder itself. Errors: invalid for
// a name Windows cannot hold safely, outside when the result lies outside `root_final`.
Result<File> open_beneath(HANDLE root, const std::wstring& root_final, std::string_view relative, OpenRequest request);

// The handle's final path ("\\?\C:\homes\alice"), "" on failure.
std::wstring final_path_of(HANDLE handle);
// Whether one name component is safe to hand to Windows.
bool safe_component(std::string_view name);
// Whether `handle` is a symlink or junction itself.
bool is_reparse_point(HANDLE handle);

}  // namespace ferry::fs::windows
