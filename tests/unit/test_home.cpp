// Home: the jail. Real temp folders with hostile symlinks, FIFOs and "..", resolved by the kernel.
#include "fs/home.hpp"
#include "fs/vpath.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

using namespace ferry;
using namespace ferry::fs;
namespace stdfs = std::filesystem;

namespace {
// A whole (small) folder through FolderReader: one batch, sorted by name.
ferry::Result<std::vector<ferry::fs::DirEntry>> list_folder(const ferry::fs::Home& home, std::string_view vpath) {
    auto reader = home.read_folder(vpath);
    if (!reader) return ferry::Result<std::vector<ferry::fs::DirEntry>>::failure(reader.error());
    return reader->next(1000);
}

// base/home is the jail, base/outside holds what must never be reached through it.
struct Jail {
    testing::TempDir temp{"home"};
    stdfs::path base = temp.path, home, outside;
    Home h;

    // cached: with a FolderCache, as the server's homes are (folder_cache_ms); every jail test runs
    // both ways.
    explicit Jail(bool cached) {
        home = base / "home";
        outside = base / "outside";
        stdfs::create_directories(outside);
        write(outside / "secret.txt", "top secret");
        auto opened = Home::open(home.string(), true);
        REQUIRE(opened.ok());
        h = std::move(opened.value());
        if (cached) h.keep_folders(std::chrono::seconds(60));
    }

    static void write(const stdfs::path& p, const std::string& text) {
        std::ofstream(p, std::ios::binary) << text;
    }
    static std::string read(const stdfs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    static std::string read_fd(int fd) {
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(out.size()))) > 0) out.append(buf, n);
        return out;
    }
};

Error error_of(const Result<File>& r) { return r.ok() ? Error() : r.error(); }

}  // namespace

TEST_CASE("Home::open creates the folder, or reports it missing") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        CHECK(stdfs::is_directory(j.home));
        CHECK(stdfs::status(j.home).permissions() == static_cast<stdfs::perms>(0750));
        auto missing = Home::open((j.base / "nope").string(), false);
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.error() == ENOENT);
        auto nested = Home::open((j.base / "x" / "y").string(), true);
        CHECK(nested.ok());

    }
}

TEST_CASE("dot-dot never leaves the home") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        CHECK(error_of(j.h.open_read("../../etc/passwd")) == EXDEV);
        CHECK(error_of(j.h.open_read("/../outside/secret.txt")) == EXDEV);
        // Through vpath the same argument stays inside and simply does not exist.
        CHECK(error_of(j.h.open_read(vpath_resolve("/a", "../../etc/passwd"))) == ENOENT);
        CHECK(error_of(j.h.open_directory("..")) == EXDEV);
        CHECK(list_folder(j.h, "..").error() == EXDEV);
        CHECK(j.h.stat("..").error() == EXDEV);
        CHECK(j.h.open_directory("/").ok());
    }
}

TEST_CASE("symlinks that lead outside are refused") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        stdfs::create_directory_symlink("/etc", j.home / "etc");
        stdfs::create_directory_symlink("../..", j.home / "up");
        stdfs::create_symlink(j.outside / "secret.txt", j.home / "abs");
        stdfs::create_symlink("c2", j.home / "c1");
        stdfs::create_symlink("c3", j.home / "c2");
        stdfs::create_symlink("../outside/secret.txt", j.home / "c3");

        CHECK(error_of(j.h.open_read("/etc/passwd")) == EXDEV);
        CHECK(j.h.stat("/etc").error() == EXDEV);
        CHECK(list_folder(j.h, "/etc").error() == EXDEV);
        CHECK(j.h.stat("/up").error() == EXDEV);
        CHECK(error_of(j.h.open_directory("/up")) == EXDEV);
        CHECK(error_of(j.h.open_read("/abs")) == EXDEV);
        CHECK(error_of(j.h.open_read("/c1")) == EXDEV);
        CHECK_FALSE(j.h.is_directory("/etc"));

        CHECK(error_of(j.h.open_write("/abs", WriteMode::truncate)) == EXDEV);
        CHECK(error_of(j.h.open_write("/c1", WriteMode::append)) == EXDEV);
        CHECK(Jail::read(j.outside / "secret.txt") == "top secret");

        // Dangling links to outside must not create the target either.
        stdfs::create_symlink(j.outside / "planted", j.home / "dangling_abs");
        stdfs::create_symlink("../outside/planted2", j.home / "dangling_rel");
        CHECK(error_of(j.h.open_write("/dangling_abs", WriteMode::truncate)) == EXDEV);
        CHECK(error_of(j.h.open_write("/dangling_rel", WriteMode::truncate)) == EXDEV);
        CHECK_FALSE(stdfs::exists(j.outside / "planted"));
        CHECK_FALSE(stdfs::exists(j.outside / "planted2"));

        const auto before = stdfs::last_write_time(j.outside / "secret.txt");
        CHECK(j.h.set_mtime("/abs", 1'000'000) == EXDEV);
        CHECK(stdfs::last_write_time(j.outside / "secret.txt") == before);
    }
}

TEST_CASE("symlinks that stay inside work") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        stdfs::create_directories(j.home / "sub");
        Jail::write(j.home / "sub" / "file.txt", "inside");
        stdfs::create_symlink("sub/file.txt", j.home / "direct");
        stdfs::create_symlink("direct", j.home / "chain");
        stdfs::create_symlink("../sub/file.txt", j.home / "sub" / "back");
        stdfs::create_directory_symlink("sub", j.home / "subdir");

        for (const char* vpath : {"/direct", "/chain", "/sub/back", "/subdir/file.txt"}) {
            CAPTURE(vpath);
            auto fd = j.h.open_read(vpath);
            REQUIRE(fd.ok());
            CHECK(Jail::read_fd(fd->get()) == "inside");
        }
        auto st = j.h.stat("/chain");
        REQUIRE(st.ok());
        CHECK(st->is_regular());
        CHECK(st->size == 6);
        CHECK(j.h.is_directory("/subdir"));
        CHECK(j.h.set_mtime("/chain", 1'000'000) == 0);
        CHECK(j.h.stat("/sub/file.txt")->mtime == 1'000'000);
    }
}

TEST_CASE("mkdir, rmdir and unlink") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        CHECK(j.h.make_directory("/d") == 0);
        CHECK(stdfs::status(j.home / "d").permissions() == static_cast<stdfs::perms>(0750));
        CHECK(j.h.make_directory("/d") == EEXIST);
        CHECK(j.h.make_directory("/missing/d") == ENOENT);
        CHECK(j.h.make_directory("/") == EEXIST);
        Jail::write(j.home / "d" / "f", "x");
        CHECK(j.h.remove_directory("/d") == ENOTEMPTY);
        CHECK(j.h.remove_directory("/d/f") == ENOTDIR);
        CHECK(j.h.remove_file("/d") == EISDIR);
        CHECK(j.h.remove_file("/d/f") == 0);
        CHECK_FALSE(stdfs::exists(j.home / "d" / "f"));
        CHECK(j.h.remove_file("/d/f") == ENOENT);
        CHECK(j.h.remove_directory("/d") == 0);
        CHECK_FALSE(stdfs::exists(j.home / "d"));
        CHECK(j.h.remove_directory("/") == EBUSY);
        CHECK(stdfs::exists(j.home));

        // The link goes, its target stays.
        Jail::write(j.home / "target", "t");
        stdfs::create_symlink("target", j.home / "link");
        CHECK(j.h.remove_file("/link") == 0);
        CHECK_FALSE(stdfs::is_symlink(j.home / "link"));
        CHECK(stdfs::exists(j.home / "target"));

        // Names are never acted on through a parent outside the home.
        stdfs::create_directory_symlink(j.outside, j.home / "out");
        CHECK(j.h.make_directory("/out/new") == EXDEV);
        CHECK(j.h.remove_file("/out/secret.txt") == EXDEV);
        CHECK(stdfs::exists(j.outside / "secret.txt"));
        CHECK_FALSE(stdfs::exists(j.outside / "new"));
        // Unnormalised last components are refused rather than acted on.
        CHECK(j.h.remove_directory("/out/..") == EINVAL);
        CHECK(j.h.make_directory("/target/.") == EINVAL);
    }
}

TEST_CASE("rename replaces files, never folders, and stays inside") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        Jail::write(j.home / "a", "A");
        Jail::write(j.home / "b", "B");
        stdfs::create_directories(j.home / "dir" / "inner");
        stdfs::create_directories(j.home / "empty");

        CHECK(j.h.rename("/a", "/c") == 0);
        CHECK(Jail::read(j.home / "c") == "A");
        CHECK_FALSE(stdfs::exists(j.home / "a"));
        CHECK(j.h.rename("/c", "/b") == 0);  // a file target is replaced
        CHECK(Jail::read(j.home / "b") == "A");
        CHECK(j.h.rename("/b", "/dir") == EEXIST);    // never onto a folder
        CHECK(j.h.rename("/b", "/empty") == EEXIST);  // not even an empty one
        CHECK(stdfs::is_directory(j.home / "empty"));
        CHECK(j.h.rename("/dir", "/empty") == EEXIST);
        CHECK(stdfs::is_directory(j.home / "dir" / "inner"));
        CHECK(j.h.rename("/dir", "/moved") == 0);
        CHECK(stdfs::is_directory(j.home / "moved" / "inner"));
        CHECK(j.h.rename("/missing", "/x") == ENOENT);
        CHECK(j.h.rename("/", "/x") == EBUSY);
        CHECK(j.h.rename("/b", "/") == EBUSY);

        stdfs::create_directory_symlink(j.outside, j.home / "out");
        CHECK(j.h.rename("/b", "/out/stolen") == EXDEV);
        CHECK(j.h.rename("/out/secret.txt", "/mine") == EXDEV);
        CHECK(stdfs::exists(j.home / "b"));
        CHECK_FALSE(stdfs::exists(j.outside / "stolen"));
        CHECK(stdfs::exists(j.outside / "secret.txt"));
    }
}

TEST_CASE("a FIFO or device in the home is refused without blocking") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        const auto fifo = j.home / "pipe";
        REQUIRE(::mkfifo(fifo.c_str(), 0666) == 0);

        auto reader = std::async(std::launch::async, [&] { return error_of(j.h.open_read("/pipe")); });
        if (reader.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
            // Unblock the stuck open so the test can fail instead of hanging.
            const int unblock = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
            if (unblock >= 0) ::close(unblock);
            FAIL("open_read blocked on a FIFO");
        }
        CHECK(reader.get() == EACCES);

        auto writer = std::async(std::launch::async,
                                 [&] { return error_of(j.h.open_write("/pipe", WriteMode::truncate)); });
        if (writer.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
            const int unblock = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
            if (unblock >= 0) ::close(unblock);
            FAIL("open_write blocked on a FIFO");
        }
        CHECK(writer.get() != 0);  // ENXIO (no reader) or EACCES

        CHECK(error_of(j.h.open_read("/")) == EISDIR);
        stdfs::create_directories(j.home / "sub");
        CHECK(error_of(j.h.open_write("/sub", WriteMode::truncate)) == EISDIR);

        // A character device (only where this container may mknod).
        const auto dev = j.home / "null";
        if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
            CHECK(error_of(j.h.open_read("/null")) == EACCES);
            CHECK(error_of(j.h.open_write("/null", WriteMode::append)) == EACCES);
        }
    }
}

TEST_CASE("open_write modes") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        const auto path = j.home / "f";
        Jail::write(path, "hello world");

        SUBCASE("truncate") {
            auto fd = j.h.open_write("/f", WriteMode::truncate);
            REQUIRE(fd.ok());
            CHECK(stdfs::file_size(path) == 0);
            CHECK((::fcntl(fd->get(), F_GETFL) & O_NONBLOCK) == 0);
            CHECK(::write(fd->get(), "abc", 3) == 3);
            CHECK(Jail::read(path) == "abc");
        }
        SUBCASE("at_offset keeps the contents") {
            auto fd = j.h.open_write("/f", WriteMode::at_offset);
            REQUIRE(fd.ok());
            CHECK(::pwrite(fd->get(), "WORLD", 5, 6) == 5);
            CHECK(Jail::read(path) == "hello WORLD");
        }
        SUBCASE("append writes at the end") {
            auto fd = j.h.open_write("/f", WriteMode::append);
            REQUIRE(fd.ok());
            CHECK((::fcntl(fd->get(), F_GETFL) & O_APPEND) != 0);
            CHECK(::write(fd->get(), "!", 1) == 1);
            CHECK(Jail::read(path) == "hello world!");
        }
        SUBCASE("create_new refuses an existing name") {
            CHECK(error_of(j.h.open_write("/f", WriteMode::create_new)) == EEXIST);
            CHECK(Jail::read(path) == "hello world");
            auto fd = j.h.open_write("/g", WriteMode::create_new);
            REQUIRE(fd.ok());
            CHECK(stdfs::status(j.home / "g").permissions() == static_cast<stdfs::perms>(0640));
        }
        SUBCASE("every mode creates a missing file with mode 0640") {
            for (auto mode : {WriteMode::truncate, WriteMode::at_offset, WriteMode::append}) {
                const auto name = "/new" + std::to_string(static_cast<int>(mode));
                CHECK(j.h.open_write(name, mode).ok());
                CHECK(stdfs::status(j.home / name.substr(1)).permissions() ==
                      static_cast<stdfs::perms>(0640));
            }
        }
    }
}

TEST_CASE("read_folder shows entries sorted, following only links that stay inside") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        Jail::write(j.home / "b.txt", "12345");
        stdfs::create_directories(j.home / "a_dir");
        stdfs::create_symlink("b.txt", j.home / "c_inside");
        stdfs::create_symlink(j.outside / "secret.txt", j.home / "d_outside");

        auto entries = list_folder(j.h, "/");
        REQUIRE(entries.ok());
        REQUIRE(entries->size() == 4);
        const auto& e = entries.value();
        CHECK(e[0].name == "a_dir");
        CHECK(e[0].info.is_directory());
        CHECK(e[1].name == "b.txt");
        CHECK(e[1].info.size == 5);
        CHECK(e[2].name == "c_inside");
        CHECK(e[2].info.is_regular());
        CHECK(e[2].info.size == 5);
        CHECK(e[3].name == "d_outside");
        CHECK(e[3].info.is_symlink());

        CHECK(list_folder(j.h, "/a_dir")->empty());
        CHECK(list_folder(j.h, "/b.txt").error() == ENOTDIR);
        CHECK(list_folder(j.h, "/nope").error() == ENOENT);
    }
}

TEST_CASE("usage sums regular files and does not follow symlinks") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        CHECK(j.h.usage().value() == 0);
        Jail::write(j.home / "a", std::string(10, 'a'));
        stdfs::create_directories(j.home / "sub" / "deeper");
        Jail::write(j.home / "sub" / "b", std::string(100, 'b'));
        Jail::write(j.home / "sub" / "deeper" / "c", std::string(1000, 'c'));
        Jail::write(j.outside / "big", std::string(1 << 20, 'x'));
        stdfs::create_symlink(j.outside / "big", j.home / "big_link");
        stdfs::create_directory_symlink(j.outside, j.home / "out_link");
        stdfs::create_directory_symlink("sub", j.home / "sub_again");  // would double-count if followed

        auto used = j.h.usage();
        REQUIRE(used.ok());
        CHECK(used.value() == 1110);
    }
}

TEST_CASE("set_mode changes permission bits beneath the home only") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        Jail::write(j.home / "f.txt", "x");
        stdfs::create_directories(j.home / "d");
        stdfs::create_symlink("f.txt", j.home / "inside_link");
        stdfs::create_symlink(j.outside / "secret.txt", j.home / "abs");
        stdfs::create_symlink("../outside/secret.txt", j.home / "rel");
        stdfs::create_directory_symlink(".", j.home / "self");
        const auto mode_of = [](const stdfs::path& p) { return static_cast<int>(stdfs::status(p).permissions()); };

        CHECK(j.h.set_mode("/f.txt", 0604) == 0);
        CHECK(mode_of(j.home / "f.txt") == 0604);
        CHECK(j.h.set_mode("/d", 0711) == 0);
        CHECK(mode_of(j.home / "d") == 0711);
        CHECK(j.h.set_mode("/inside_link", 0600) == 0);  // a link that stays inside: its target
        CHECK(mode_of(j.home / "f.txt") == 0600);

        const int secret_before = mode_of(j.outside / "secret.txt");
        CHECK(j.h.set_mode("/abs", 0666) == EXDEV);
        CHECK(j.h.set_mode("/rel", 0666) == EXDEV);
        CHECK(j.h.set_mode("/../outside/secret.txt", 0666) == EXDEV);
        CHECK(mode_of(j.outside / "secret.txt") == secret_before);

        const int home_before = mode_of(j.home);
        CHECK(j.h.set_mode("/", 0700) == EPERM);
        CHECK(j.h.set_mode("/self", 0700) == EPERM);  // the home itself, reached through a link
        CHECK(mode_of(j.home) == home_before);
        CHECK(j.h.set_mode("/f.txt", 04755) == EINVAL);  // no setuid, setgid or sticky bits
        CHECK(j.h.set_mode("/missing", 0600) == ENOENT);
    }
}

TEST_CASE("folder_height counts levels of folders, stops past its limit, and follows no symlink") {
    for (const bool cached : {false, true}) {
        CAPTURE(cached);
        Jail j(cached);
        stdfs::create_directories(j.home / "t" / "a" / "b" / "c");
        stdfs::create_directories(j.home / "t" / "x");
        Jail::write(j.home / "t" / "a" / "b" / "c" / "f", "x");
        stdfs::create_directory_symlink(j.home / "t", j.home / "t" / "x" / "loop");  // a way back up
        CHECK(*j.h.folder_height("/t/a/b/c", 10) == 0);
        CHECK(*j.h.folder_height("/t", 10) == 3);
        CHECK(*j.h.folder_height("/t", 3) == 3);
        CHECK(*j.h.folder_height("/t", 2) == 3);  // past the limit: limit + 1
        CHECK(*j.h.folder_height("/t", 0) == 1);
        CHECK(j.h.folder_height("/missing", 5).error() == ENOENT);
    }
}

TEST_CASE("an account's home opens beneath the root, creating it there, and never through a symlink") {
    testing::TempDir temp{"home-root"};
    const stdfs::path root = stdfs::path(temp.path) / "homes";
    const stdfs::path outside = stdfs::path(temp.path) / "outside";
    stdfs::create_directories(root);
    stdfs::create_directories(outside / "inner");
    auto made = Home::open(root.string(), "team/alice", true);
    REQUIRE(made.ok());
    CHECK(stdfs::is_directory(root / "team" / "alice"));
    CHECK(made->path() == (root / "team" / "alice").string());
    // A link planted where a home is, or on the way to it, moves nothing outside the root.
    stdfs::create_directory_symlink(outside, root / "mallory");
    stdfs::create_directory_symlink(outside, root / "via");
    stdfs::create_directory_symlink(root / "team", root / "inside");  // even one that stays inside
    CHECK_FALSE(Home::open(root.string(), "mallory", true).ok());
    CHECK_FALSE(Home::open(root.string(), "via/inner", false).ok());
    CHECK_FALSE(Home::open(root.string(), "via/new", true).ok());
    CHECK_FALSE(stdfs::exists(outside / "new"));
    CHECK_FALSE(Home::open(root.string(), "inside/alice", false).ok());
    CHECK(Home::open(root.string(), "team/alice", false).ok());
    CHECK(Home::open(root.string(), "missing", false).error() == ENOENT);
}

TEST_CASE("a kept folder handle follows this home's renames and removals at once") {
    Jail j(true);
    stdfs::create_directories(j.home / "a" / "b");
    Jail::write(j.home / "a" / "b" / "f", "first");
    REQUIRE(j.h.open_read("/a/b/f").ok());  // keeps /a and /a/b

    REQUIRE(j.h.rename("/a", "/moved") == 0);
    CHECK(error_of(j.h.open_read("/a/b/f")) == ENOENT);
    CHECK(j.h.stat("/a/b/f").error() == ENOENT);
    CHECK(Jail::read_fd(j.h.open_read("/moved/b/f")->get()) == "first");

    // A folder removed and made again: names go into the new one, not the removed one's handle.
    REQUIRE(j.h.remove_file("/moved/b/f") == 0);
    REQUIRE(j.h.remove_directory("/moved/b") == 0);
    REQUIRE(j.h.make_directory("/moved/b") == 0);
    auto fd = j.h.open_write("/moved/b/g", WriteMode::truncate);
    REQUIRE(fd.ok());
    CHECK(stdfs::exists(j.home / "moved" / "b" / "g"));
    CHECK(list_folder(j.h, "/moved/b")->size() == 1);
}

TEST_CASE("a folder changed behind the home's back is seen once its kept handle expires") {
    testing::TempDir temp{"home"};
    const stdfs::path base = temp.path;
    auto opened = Home::open((base / "home").string(), true);
    REQUIRE(opened.ok());
    Home h = std::move(*opened);
    h.keep_folders(std::chrono::milliseconds(50));
    stdfs::create_directories(base / "home" / "d");
    Jail::write(base / "home" / "d" / "f", "old");
    REQUIRE(h.stat("/d/f").ok());
    stdfs::rename(base / "home" / "d", base / "home" / "elsewhere");  // another node, say
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(h.stat("/d/f").error() == ENOENT);
    CHECK(h.stat("/elsewhere/f").ok());
}

TEST_CASE("usage sums a wide tree on several threads, and stops 64 levels down") {
    Jail j(false);
    for (int folder = 0; folder < 5; ++folder) {
        const auto dir = j.home / ("d" + std::to_string(folder));
        stdfs::create_directories(dir / "inner");
        for (int file = 0; file < 100; ++file) Jail::write(dir / ("f" + std::to_string(file)), "12345");
        Jail::write(dir / "inner" / "x", std::string(7, 'x'));
    }
    stdfs::path deep = j.home;
    for (int level = 0; level < 70; ++level) {
        deep /= "l";
        stdfs::create_directory(deep);
        Jail::write(deep / "one", "1");  // counted in the folders 1 to 64 levels down only
    }
    auto used = j.h.usage();
    REQUIRE(used.ok());
    CHECK(used.value() == 5 * (100 * 5 + 7) + 64);
}
