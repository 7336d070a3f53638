"""File-system steps that take long must not hold up the other sessions of their reactor.

On NFS or CephFS every metadata call (open, stat, mkdir) takes milliseconds; removing the last name
of a large file, renaming over it or cutting it (STOR over it) frees its page cache there and then
(95 ms for a cached 2 GiB file here); closing a written file writes back what the page cache holds.
An LD_PRELOAD shim built here makes unlinkat, renameat, ftruncate, fstat, fstatat and mkdirat on
names starting with "slow-" take 600 ms; an "uncached-..." file is not in the page cache (preadv2
RWF_NOWAIT: EAGAIN) until its first pread or sendfile, which takes 600 ms; closing a "slowclose-..." file takes 600 ms,
and closing a "closefail-..." one reports EIO, as NFS does when the write-back failed.

One session runs a command on such a name (DELE, RNTO over, STOR over, SIZE, MDTM, CWD, MKD, RETR,
HASH, a RETR that sendfile sends, an FTPS RETR that OpenSSL seals, a TYPE A RETR, a STOR whose
close is slow) while a second
session on the same reactor (workers = 1) sends NOOP: the NOOP must be answered well before the
slow step ends, and the slow step must really have been slow (so the shim did its job). A failed
close fails the upload (451), never a 226. And one user's requests beyond
max_file_requests_per_user get 450 instead of waiting."""
import ftplib
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ServerTestCase, make_file, sha256_file, skip_on_windows, skip_unless_ferryd
from harness_ext import ReuseFTP_TLS, tls_config

SLOW_SECONDS = 0.6

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void wait_if_slow(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "slow-", 5) == 0) {
        struct timespec t = {0, %d};
        nanosleep(&t, NULL);
    }
}

int unlinkat(int dir, const char *name, int flags) {
    static int (*real)(int, const char *, int);
    if (!real) real = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
    wait_if_slow(name);
    return real(dir, name, flags);
}

int renameat(int from_dir, const char *from, int to_dir, const char *to) {
    static int (*real)(int, const char *, int, const char *);
    if (!real) real = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
    wait_if_slow(to);
    return real(from_dir, from, to_dir, to);
}

static int fd_path(int fd, char *path, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%%d", fd);
    ssize_t n = readlink(link, path, size - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    return 1;
}

static int fd_name_starts(int fd, const char *prefix) {
    char path[4096];
    if (!fd_path(fd, path, sizeof path)) return 0;
    const char *base = strrchr(path, '/');
    return strncmp(base ? base + 1 : path, prefix, strlen(prefix)) == 0;
}

static void wait_if_slow_fd(int fd) {
    if (fd_name_starts(fd, "slow-")) wait_if_slow("slow-");
}

/* An "uncached-" file is not in the page cache until something read it: a read that must not wait
   is told so, and the first ordinary read (or sendfile) of its start waits for "storage" (600 ms)
   and brings the file in. Its metadata calls are fast. */
static char warm[32][4096];
static int warm_count;
static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_warm(const char *path) {
    int found = 0;
    pthread_mutex_lock(&warm_lock);
    for (int i = 0; i < warm_count && !found; ++i) found = strcmp(warm[i], path) == 0;
    pthread_mutex_unlock(&warm_lock);
    return found;
}

static int is_cold(int fd) {
    char path[4096];
    return fd_name_starts(fd, "uncached-") && fd_path(fd, path, sizeof path) && !is_warm(path);
}

/* Waits like storage if `fd` is a cold "uncached-" file, which is warm afterwards. */
static void read_from_storage(int fd) {
    char path[4096];
    if (!is_cold(fd) || !fd_path(fd, path, sizeof path)) return;
    wait_if_slow("slow-");
    pthread_mutex_lock(&warm_lock);
    if (warm_count < 32) snprintf(warm[warm_count++], sizeof warm[0], "%%s", path);
    pthread_mutex_unlock(&warm_lock);
}

ssize_t preadv2(int fd, const struct iovec *vector, int count, off_t offset, int flags) {
    static ssize_t (*real)(int, const struct iovec *, int, off_t, int);
    if (!real) real = (ssize_t (*)(int, const struct iovec *, int, off_t, int))dlsym(RTLD_NEXT, "preadv2");
    if ((flags & RWF_NOWAIT) && is_cold(fd)) {
        errno = EAGAIN;
        return -1;
    }
    return real(fd, vector, count, offset, flags);
}

ssize_t pread(int fd, void *buffer, size_t size, off_t offset) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
    if (offset == 0) read_from_storage(fd);
    return real(fd, buffer, size, offset);
}

ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
    static ssize_t (*real)(int, int, off_t *, size_t);
    if (!real) real = (ssize_t (*)(int, int, off_t *, size_t))dlsym(RTLD_NEXT, "sendfile");
    read_from_storage(in);
    return real(out, in, offset, count);
}
ssize_t sendfile64(int out, int in, off_t *offset, size_t count) { return sendfile(out, in, offset, count); }
ssize_t pread64(int fd, void *buffer, size_t size, off_t offset) { return pread(fd, buffer, size, offset); }

/* Closing a "slowclose-" file takes 600 ms (NFS writes back what the page cache holds); closing a
   "closefail-" file closes it and then reports EIO, as NFS does when that write-back failed. */
int close(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "close");
    const int fails = fd_name_starts(fd, "closefail-");
    if (fd_name_starts(fd, "slowclose-")) wait_if_slow("slow-");
    const int result = real(fd);
    if (result == 0 && fails) {
        errno = EIO;
        return -1;
    }
    return result;
}

int fstat(int fd, struct stat *st) {
    static int (*real)(int, struct stat *);
    if (!real) real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
    wait_if_slow_fd(fd);
    return real(fd, st);
}

/* A stat by name (a name directly in the home is stat'ed on the home's handle), or of an fd. */
int fstatat(int dir, const char *name, struct stat *st, int flags) {
    static int (*real)(int, const char *, struct stat *, int);
    if (!real) real = (int (*)(int, const char *, struct stat *, int))dlsym(RTLD_NEXT, "fstatat");
    if (name[0] == 0) wait_if_slow_fd(dir);
    else wait_if_slow(name);
    return real(dir, name, st, flags);
}

int mkdirat(int dir, const char *name, mode_t mode) {
    static int (*real)(int, const char *, mode_t);
    if (!real) real = (int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT, "mkdirat");
    wait_if_slow(name);
    return real(dir, name, mode);
}

int ftruncate(int fd, off_t length) {
    static int (*real)(int, off_t);
    if (!real) real = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
    wait_if_slow_fd(fd);
    return real(fd, length);
}
""" % int(SLOW_SECONDS * 1e9)


def build_shim(folder):
    source = os.path.join(folder, "slow_fs.c")
    library = os.path.join(folder, "slow_fs.so")
    with open(source, "w") as f:
        f.write(SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"], check=True,
                   capture_output=True, timeout=120)
    return library


@skip_on_windows("LD_PRELOAD shim of Linux libc calls")
@skip_unless_ferryd("the pool and the reactors are ferryd's")
class SlowFileSystemTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = {"workers": 1}

    @classmethod
    def setUpClass(cls):
        shim_dir = tempfile.mkdtemp(prefix="ferry-shim-")
        cls.addClassCleanup(shutil.rmtree, shim_dir, True)
        shim = build_shim(shim_dir)
        saved = {k: os.environ.get(k) for k in ("LD_PRELOAD", "ASAN_OPTIONS")}
        os.environ["LD_PRELOAD"] = shim
        # An ASan build wants its runtime first in the list; the shim only wraps three calls.
        os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [saved["ASAN_OPTIONS"], "verify_asan_link_order=0"]))
        try:
            super().setUpClass()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def assert_noop_answered_meanwhile(self, slow_step, slow=None):
        """Runs slow_step(ftp) on one session (`slow`, else a new one); 100 ms in, a NOOP on another
        must come back well before slow_step returns. Returns how long slow_step took."""
        slow, other = slow or self.login(), self.login()
        took = {}

        def run_slow():
            start = time.monotonic()
            slow_step(slow)
            took["slow_end"] = time.monotonic()
            took["slow"] = took["slow_end"] - start

        worker = threading.Thread(target=run_slow)
        worker.start()
        time.sleep(0.1)
        other.voidcmd("NOOP")
        noop_end = time.monotonic()
        worker.join(30)
        self.assertFalse(worker.is_alive())
        self.assertGreaterEqual(took["slow"], SLOW_SECONDS - 0.05, "the shim did not slow the step down")
        # A blocked reactor answers the NOOP right after the slow step, within a millisecond: the
        # two replies then race to the two client threads, so ask for a clear lead.
        self.assertLess(noop_end, took["slow_end"] - SLOW_SECONDS / 3,
                        "the NOOP waited for the slow step: the reactor was blocked")
        return took["slow"]

    def test_dele_of_a_slow_file(self):
        path = make_file(os.path.join(self.srv.home("alice"), "slow-dele.bin"), 4096, seed="dele")
        self.assert_noop_answered_meanwhile(lambda ftp: self.assertTrue(ftp.delete("slow-dele.bin").startswith("250")))
        self.assertFalse(os.path.exists(path))

    def test_rename_over_a_slow_file(self):
        home = self.srv.home("alice")
        make_file(os.path.join(home, "source.bin"), 4096, seed="source")
        make_file(os.path.join(home, "slow-target.bin"), 8192, seed="target")
        self.assert_noop_answered_meanwhile(lambda ftp: ftp.rename("source.bin", "slow-target.bin"))
        self.assertEqual(os.path.getsize(os.path.join(home, "slow-target.bin")), 4096)
        self.assertFalse(os.path.exists(os.path.join(home, "source.bin")))

    def test_stor_over_a_slow_file(self):
        home = self.srv.home("alice")
        make_file(os.path.join(home, "slow-stor.bin"), 100000, seed="old")

        def store(ftp):
            ftp.storbinary("STOR slow-stor.bin", _Bytes(b"new" * 1000))

        self.assert_noop_answered_meanwhile(store)
        with open(os.path.join(home, "slow-stor.bin"), "rb") as f:
            self.assertEqual(f.read(), b"new" * 1000)


    def test_stor_waits_for_a_slow_close_and_the_reactor_does_not(self):
        home = self.srv.home("alice")
        took = self.assert_noop_answered_meanwhile(
            lambda ftp: ftp.storbinary("STOR slowclose-up.bin", _Bytes(b"up" * 5000)))
        self.assertGreaterEqual(took, SLOW_SECONDS - 0.05, "the 226 came before the file was closed")
        with open(os.path.join(home, "slowclose-up.bin"), "rb") as f:
            self.assertEqual(f.read(), b"up" * 5000)

    def test_a_failed_close_fails_the_upload(self):
        ftp = self.login()
        with self.assertRaises(ftplib.error_temp) as caught:
            ftp.storbinary("STOR closefail-up.bin", _Bytes(b"lost?" * 1000))
        self.assertTrue(str(caught.exception).startswith("451 "), caught.exception)
        self.assertIn("closing the file failed", self.srv.log_text())
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))

    def test_metadata_commands_on_slow_names(self):
        home = self.srv.home("alice")
        make_file(os.path.join(home, "slow-meta.bin"), 5000, seed="meta")
        os.makedirs(os.path.join(home, "slow-dir"), exist_ok=True)
        self.assert_noop_answered_meanwhile(lambda ftp: self.assertEqual(ftp.size("slow-meta.bin"), 5000))
        self.assert_noop_answered_meanwhile(lambda ftp: self.assertTrue(ftp.sendcmd("MDTM slow-meta.bin").startswith("213")))
        self.assert_noop_answered_meanwhile(lambda ftp: self.assertTrue(ftp.cwd("slow-dir").startswith("250")))
        self.assert_noop_answered_meanwhile(lambda ftp: ftp.mkd("slow-new"))
        self.assertTrue(os.path.isdir(os.path.join(home, "slow-new")))

    def test_retr_and_hash_of_a_slow_file(self):
        home = self.srv.home("alice")
        make_file(os.path.join(home, "slow-get.bin"), 300000, seed="get")

        def retr(ftp):
            got = []
            ftp.retrbinary("RETR slow-get.bin", got.append)
            self.assertEqual(sum(len(g) for g in got), 300000)
        self.assert_noop_answered_meanwhile(retr)
        self.assert_noop_answered_meanwhile(lambda ftp: self.assertTrue(ftp.sendcmd("HASH slow-get.bin").startswith("213")))

    def test_retr_of_an_uncached_file(self):
        path = make_file(os.path.join(self.srv.home("alice"), "uncached-plain.bin"), 600000, seed="plain")
        got = []
        self.assert_noop_answered_meanwhile(lambda ftp: ftp.retrbinary("RETR uncached-plain.bin", got.append))
        self.assertEqual(hashlib.sha256(b"".join(got)).hexdigest(), sha256_file(path))

    def test_ascii_retr_of_an_uncached_file(self):
        with open(os.path.join(self.srv.home("alice"), "uncached-text.txt"), "w") as f:
            f.write("a line of text\n" * 20000)
        lines = []
        self.assert_noop_answered_meanwhile(lambda ftp: ftp.retrlines("RETR uncached-text.txt", lines.append))
        self.assertEqual(lines, ["a line of text"] * 20000)


@skip_on_windows("LD_PRELOAD shim of Linux libc calls")
@skip_unless_ferryd("the pool and the reactors are ferryd's")
class SlowTlsDownloadTests(SlowFileSystemTests):
    """A PROT P download that OpenSSL seals reads the file through memory: a block the page cache
    does not hold is read on the I/O pool, not by the reactor (with kTLS, SSL_sendfile's page-cache
    reads are the kernel's, as with sendfile)."""
    CONFIG = dict(tls_config("optional"), workers=1, ktls="off")

    def test_ftps_retr_of_an_uncached_file(self):
        path = make_file(os.path.join(self.srv.home("alice"), "uncached-tls.bin"), 600000, seed="tls")
        secure = ReuseFTP_TLS()
        secure.connect("127.0.0.1", self.srv.port)
        secure.login("alice", "alice-pw-1")
        secure.prot_p()
        self._clients.append(secure)
        got = []
        self.assert_noop_answered_meanwhile(lambda ftp: ftp.retrbinary("RETR uncached-tls.bin", got.append), secure)
        self.assertEqual(hashlib.sha256(b"".join(got)).hexdigest(), sha256_file(path))

    # the inherited tests run in SlowFileSystemTests already
    test_dele_of_a_slow_file = test_rename_over_a_slow_file = test_stor_over_a_slow_file = None
    test_metadata_commands_on_slow_names = test_retr_and_hash_of_a_slow_file = None
    test_ascii_retr_of_an_uncached_file = test_stor_waits_for_a_slow_close_and_the_reactor_does_not = None
    test_a_failed_close_fails_the_upload = test_retr_of_an_uncached_file = None


@skip_on_windows("LD_PRELOAD shim of Linux libc calls")
@skip_unless_ferryd("max_file_requests_per_user is ferryd's")
class FileRequestsPerUserTests(SlowFileSystemTests):
    """Three sessions of one user with max_file_requests_per_user = 2: while two SIZEs of a slow
    file wait, the third gets 450 at once (and a log line), and the user's next request works."""
    CONFIG = {"workers": 1, "max_file_requests_per_user": 2}

    def test_a_third_request_gets_450(self):
        make_file(os.path.join(self.srv.home("alice"), "slow-busy.bin"), 100, seed="busy")
        sessions = [self.login() for _ in range(3)]
        results = []

        def size(ftp):
            results.append(ftp.size("slow-busy.bin"))
        waiting = [threading.Thread(target=size, args=(s,)) for s in sessions[:2]]
        for t in waiting:
            t.start()
        time.sleep(0.2)
        start = time.monotonic()
        with self.assertRaises(ftplib.error_temp) as caught:
            sessions[2].size("slow-busy.bin")
        self.assertLess(time.monotonic() - start, SLOW_SECONDS / 2)
        self.assertTrue(str(caught.exception).startswith("450 Too many file operations"), caught.exception)
        for t in waiting:
            t.join(10)
        self.assertEqual(results, [100, 100])
        self.assertEqual(sessions[2].size("slow-busy.bin"), 100)
        self.assertIn("max_file_requests_per_user", self.srv.log_text())

    # the inherited tests run in SlowFileSystemTests already
    test_dele_of_a_slow_file = test_rename_over_a_slow_file = test_stor_over_a_slow_file = None
    test_metadata_commands_on_slow_names = test_retr_and_hash_of_a_slow_file = None
    test_ascii_retr_of_an_uncached_file = test_stor_waits_for_a_slow_close_and_the_reactor_does_not = None
    test_a_failed_close_fails_the_upload = test_retr_of_an_uncached_file = None


class _Bytes:
    """A file-like object for storbinary."""

    def __init__(self, data):
        self.data = data

    def read(self, size=-1):
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk


if __name__ == "__main__":
    unittest.main()
