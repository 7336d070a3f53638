"""The platform seams hold: outside the folders named for a platform (src/*/posix/, src/*/linux/,
later src/*/windows/), no source includes an OS header of the list below or calls the OS directly,
src/proto includes nothing from src/app and no OpenSSL header, and the Makefile is the only build
file that names the platform folders. A new file that breaks a rule fails here with its line."""
import os
import re
import unittest

from harness import REPO

SRC = os.path.join(REPO, "src")
PLATFORM_FOLDERS = {"posix", "linux", "windows"}

FORBIDDEN_HEADERS = [
    "sys/epoll.h", "sys/eventfd.h", "sys/sendfile.h", "sys/socket.h", "netinet/", "arpa/inet.h",
    "termios.h", "sys/ioctl.h", "fnmatch.h", "dirent.h", "sys/file.h", "poll.h", "signal.h", "csignal",
    "sys/resource.h", "sys/statvfs.h", "sys/xattr.h", "sys/mman.h", "linux/", "pwd.h", "grp.h",
    "netdb.h", "sys/syscall.h", "pthread.h",
]
FORBIDDEN_CALLS = ["openat2", "syscall", r"epoll_\w+", "sendfile", "pread", "pwrite", "fstat", "flock",
                   "fstatat", "sigaction", "sigwait", "pthread_sigmask", "ioctl", "tcsetattr", "poll"]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
CALL = re.compile(r"(?<![\w.>:])(?:::)?(" + "|".join(FORBIDDEN_CALLS) + r")\s*\(")


def portable_sources():
    for folder, dirs, files in os.walk(SRC):
        dirs[:] = [d for d in dirs if d not in PLATFORM_FOLDERS]
        for name in sorted(files):
            if name.endswith((".cpp", ".hpp")):
                yield os.path.join(folder, name)


def code_lines(path):
    """(line number, text) without // comments, so comments may name what they explain."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            yield number, line.split("//", 1)[0]


def relative(path):
    return os.path.relpath(path, REPO)


class PlatformSeams(unittest.TestCase):
    def test_portable_sources_include_no_os_header(self):
        found = []
        for path in portable_sources():
            for number, line in code_lines(path):
                m = INCLUDE.match(line)
                if m and any(m.group(1) == h or (h.endswith("/") and m.group(1).startswith(h)) for h in FORBIDDEN_HEADERS):
                    found.append(f"{relative(path)}:{number}: #include <{m.group(1)}>")
        self.assertEqual(found, [], "OS headers outside the platform folders")

    def test_portable_sources_call_no_os_function(self):
        found = []
        for path in portable_sources():
            for number, line in code_lines(path):
                for m in CALL.finditer(line):
                    found.append(f"{relative(path)}:{number}: {m.group(1)}(")
        self.assertEqual(found, [], "OS calls outside the platform folders")

    def test_proto_includes_neither_app_nor_openssl(self):
        found = []
        for folder, _, files in os.walk(os.path.join(SRC, "proto")):
            for name in files:
                path = os.path.join(folder, name)
                for number, line in code_lines(path):
                    m = INCLUDE.match(line)
                    if m and (m.group(1).startswith("app/") or m.group(1).startswith("openssl/")):
                        found.append(f"{relative(path)}:{number}: {m.group(1)}")
        self.assertEqual(found, [])

    def test_readiness_api_is_private_to_the_linux_backend(self):
        found = []
        for path in portable_sources():
            for number, line in code_lines(path):
                if "readiness.hpp" in line or re.search(r"\b(add_fd|remove_fd|watch|unwatch)\s*\(", line):
                    found.append(f"{relative(path)}:{number}")
        self.assertEqual(found, [])

    def test_only_the_makefile_names_the_platform_folders(self):
        with open(os.path.join(REPO, "Makefile")) as f:
            makefile = f.read()
        self.assertIn("PLATFORM_DIRS", makefile)
        self.assertRegex(makefile, r"src/\*/\$\(dir\)/\*\.cpp")
        for path in portable_sources():
            for number, line in code_lines(path):
                m = INCLUDE.match(line)
                if m and re.match(r"\w+/(posix|linux|windows)/", m.group(1)) and not path.endswith("sys/native.hpp"):
                    self.fail(f"{relative(path)}:{number}: includes the platform file {m.group(1)}")


if __name__ == "__main__":
    unittest.main()
