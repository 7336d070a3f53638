// slowfs: a FUSE pass-through that adds a fixed delay to every metadata call, so the benchmark can
// show what a server does when its homes sit on network storage (NFS, CephFS), where open, stat,
// readdir, mkdir, unlink, rename and close each take a round trip. Reads and writes of data pass
// through undelayed.
//
//   slowfs [--count FILE] --delay-ms N DIR [fuse options]
//
// It mounts over DIR itself: DIR is opened before the mount, and every call is made relative to
// that handle, so the servers under test keep their configured homes and only get slower. The
// harness mounts with attr_timeout=0,entry_timeout=0,negative_timeout=0: every lookup and stat the
// kernel makes reaches us (as on NFS with actimeo=0), and with many threads, so that calls made in
// parallel wait in parallel, as they would for a file server's round trips.
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE
#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int backing = -1;         // DIR, opened before the mount hid it
static long delay_ns = 0;
// --count FILE: the calls by kind, as 64-bit counters in the order of `enum call`, live in FILE
// (shared memory: the harness reads them between commands).
static unsigned long long* calls;

// What the kernel asked of us, by kind: how many metadata round trips a server's commands cost.
// bench/harness/slow_storage.py (CALLS) reads the counters in this order.
enum call { c_getattr, c_access, c_readlink, c_opendir, c_readdir, c_releasedir, c_mkdir, c_unlink, c_rmdir,
            c_symlink, c_rename, c_link, c_chmod, c_chown, c_truncate, c_utimens, c_create, c_open, c_statfs,
            c_release, c_fsync, c_calls };

static void slow_call(enum call kind) {
    if (calls) __atomic_add_fetch(&calls[kind], 1, __ATOMIC_RELAXED);
    if (delay_ns == 0) return;
    struct timespec t = {delay_ns / 1000000000L, delay_ns % 1000000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

// "/a/b" -> "a/b", "/" -> "."
static const char* rel(const char* path) { return path[1] ? path + 1 : "."; }
static int fail(void) { return -errno; }

// Files and folders made through the mount belong to the caller, as on a real file system.
static void give_to_caller(const char* path) {
    struct fuse_context* c = fuse_get_context();
    (void)fchownat(backing, rel(path), c->uid, c->gid, AT_SYMLINK_NOFOLLOW);
}

static int map_counters(const char* path) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t size = sizeof(unsigned long long) * c_calls;
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) return -1;
    void* map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return -1;
    calls = map;
    return 0;
}

static void* slow_init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
    (void)conn;
    cfg->use_ino = 1;
    cfg->nullpath_ok = 1;
    cfg->hard_remove = 1;  // a file deleted while open goes, not to .fuse_hidden* (listings would grow)
    return NULL;
}

static int slow_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
    slow_call(c_getattr);
    int r = fi ? fstat((int)fi->fh, st) : fstatat(backing, rel(path), st, AT_SYMLINK_NOFOLLOW);
    return r == 0 ? 0 : fail();
}

static int slow_access(const char* path, int mask) {
    slow_call(c_access);
    return faccessat(backing, rel(path), mask, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : fail();
}

static int slow_readlink(const char* path, char* buf, size_t size) {
    slow_call(c_readlink);
    ssize_t n = readlinkat(backing, rel(path), buf, size - 1);
    if (n < 0) return fail();
    buf[n] = '\0';
    return 0;
}

static int slow_opendir(const char* path, struct fuse_file_info* fi) {
    slow_call(c_opendir);
    int fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail();
    DIR* dir = fdopendir(fd);
    if (!dir) {
        int e = errno;
        close(fd);
        return -e;
    }
    fi->fh = (uint64_t)(uintptr_t)dir;
    return 0;
}

static int slow_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info* fi,
                        enum fuse_readdir_flags flags) {
    (void)path, (void)offset, (void)flags;
    slow_call(c_readdir);
    DIR* dir = (DIR*)(uintptr_t)fi->fh;
    rewinddir(dir);
    struct dirent* e;
    while ((e = readdir(dir)) != NULL) {
        struct stat st = {.st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
        if (fill(buf, e->d_name, &st, 0, 0)) break;
    }
    return 0;
}

static int slow_releasedir(const char* path, struct fuse_file_info* fi) {
    (void)path;
    slow_call(c_releasedir);
    closedir((DIR*)(uintptr_t)fi->fh);
    return 0;
}

static int slow_mkdir(const char* path, mode_t mode) {
    slow_call(c_mkdir);
    if (mkdirat(backing, rel(path), mode) != 0) return fail();
    give_to_caller(path);
    return 0;
}

static int slow_unlink(const char* path) {
    slow_call(c_unlink);
    return unlinkat(backing, rel(path), 0) == 0 ? 0 : fail();
}

static int slow_rmdir(const char* path) {
    slow_call(c_rmdir);
    return unlinkat(backing, rel(path), AT_REMOVEDIR) == 0 ? 0 : fail();
}

static int slow_symlink(const char* target, const char* path) {
    slow_call(c_symlink);
    if (symlinkat(target, backing, rel(path)) != 0) return fail();
    give_to_caller(path);
    return 0;
}

static int slow_rename(const char* from, const char* to, unsigned int flags) {
    slow_call(c_rename);
    return renameat2(backing, rel(from), backing, rel(to), flags) == 0 ? 0 : fail();
}

static int slow_link(const char* from, const char* to) {
    slow_call(c_link);
    return linkat(backing, rel(from), backing, rel(to), 0) == 0 ? 0 : fail();
}

static int slow_chmod(const char* path, mode_t mode, struct fuse_file_info* fi) {
    slow_call(c_chmod);
    int r = fi ? fchmod((int)fi->fh, mode) : fchmodat(backing, rel(path), mode, 0);
    return r == 0 ? 0 : fail();
}

static int slow_chown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info* fi) {
    slow_call(c_chown);
    int r = fi ? fchown((int)fi->fh, uid, gid) : fchownat(backing, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
    return r == 0 ? 0 : fail();
}

static int slow_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
    slow_call(c_truncate);
    if (fi) return ftruncate((int)fi->fh, size) == 0 ? 0 : fail();
    int fd = openat(backing, rel(path), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail();
    int r = ftruncate(fd, size) == 0 ? 0 : fail();
    close(fd);
    return r;
}

static int slow_utimens(const char* path, const struct timespec tv[2], struct fuse_file_info* fi) {
    slow_call(c_utimens);
    int r = fi ? futimens((int)fi->fh, tv) : utimensat(backing, rel(path), tv, AT_SYMLINK_NOFOLLOW);
    return r == 0 ? 0 : fail();
}

static int slow_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
    slow_call(c_create);
    int fd = openat(backing, rel(path), (fi->flags | O_CLOEXEC) & ~O_NOFOLLOW, mode);
    if (fd < 0) return fail();
    give_to_caller(path);
    fi->fh = (uint64_t)fd;
    return 0;
}

static int slow_open(const char* path, struct fuse_file_info* fi) {
    slow_call(c_open);
    int fd = openat(backing, rel(path), (fi->flags | O_CLOEXEC) & ~O_NOFOLLOW);
    if (fd < 0) return fail();
    fi->fh = (uint64_t)fd;
    return 0;
}

static int slow_read(const char* path, char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
    (void)path;
    ssize_t n = pread((int)fi->fh, buf, size, offset);
    return n < 0 ? fail() : (int)n;
}

static int slow_write(const char* path, const char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
    (void)path;
    ssize_t n = pwrite((int)fi->fh, buf, size, offset);
    return n < 0 ? fail() : (int)n;
}

static int slow_statfs(const char* path, struct statvfs* st) {
    (void)path;
    slow_call(c_statfs);
    return fstatvfs(backing, st) == 0 ? 0 : fail();
}

static int slow_release(const char* path, struct fuse_file_info* fi) {
    (void)path;
    slow_call(c_release);
    close((int)fi->fh);
    return 0;
}

static int slow_fsync(const char* path, int datasync, struct fuse_file_info* fi) {
    (void)path;
    slow_call(c_fsync);
    int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
    return r == 0 ? 0 : fail();
}

static const struct fuse_operations slow_ops = {
    .init = slow_init,         .getattr = slow_getattr, .access = slow_access,     .readlink = slow_readlink,
    .opendir = slow_opendir,   .readdir = slow_readdir, .releasedir = slow_releasedir,
    .mkdir = slow_mkdir,       .symlink = slow_symlink, .unlink = slow_unlink,     .rmdir = slow_rmdir,
    .rename = slow_rename,     .link = slow_link,       .chmod = slow_chmod,       .chown = slow_chown,
    .truncate = slow_truncate, .utimens = slow_utimens, .open = slow_open,         .create = slow_create,
    .read = slow_read,         .write = slow_write,     .statfs = slow_statfs,     .release = slow_release,
    .fsync = slow_fsync,
};

int main(int argc, char** argv) {
    if (argc >= 5 && strcmp(argv[1], "--count") == 0) {
        if (map_counters(argv[2]) != 0) {
            perror(argv[2]);
            return 1;
        }
        argv += 2;
        argc -= 2;
    }
    if (argc < 4 || strcmp(argv[1], "--delay-ms") != 0) {
        fprintf(stderr, "usage: slowfs [--count FILE] --delay-ms N DIR [fuse options]\n");
        return 2;
    }
    delay_ns = strtol(argv[2], NULL, 10) * 1000000L;
    const char* dir = argv[3];
    backing = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (backing < 0) {
        perror(dir);
        return 1;
    }
    // fuse_main sees: slowfs DIR [options]
    argv[2] = argv[0];
    umask(0);
    return fuse_main(argc - 2, argv + 2, &slow_ops, NULL);
}
