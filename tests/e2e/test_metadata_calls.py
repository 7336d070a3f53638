"""How many file-system calls each command makes on the user's files: on NFS or CephFS each one is
a round trip, and a client waits for them in series, so the count is the command's latency there.

strace (-f -y, attached to the running ferryd) records every file-system call whose arguments name
a path under the home; fcntl (local to the open file description) and the data calls (sendfile,
pread, pwrite) are not metadata calls and are left out. Each command's count must stay within its
budget: RETR 3 (open, fstat, close; vsftpd makes 4 per the measurement in issue 27), STOR 4 (open,
fstat, one listing of kept digests, close), a name directly in the home costs no open and close of
its folder (SIZE: one stat; DELE: stat and unlink), one in a subfolder costs both."""
import io
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

from harness import ServerTestCase, list_text, make_file, retr_bytes, skip_on_windows, skip_unless_ferryd

TRACED = ("openat,openat2,open,stat,lstat,fstat,newfstatat,statx,mkdirat,mkdir,unlinkat,unlink,rmdir,renameat,"
          "renameat2,rename,getdents64,close,fgetxattr,fsetxattr,fremovexattr,flistxattr,getxattr,setxattr,"
          "lgetxattr,ftruncate,fsync,fdatasync,fchmod,fchmodat,utimensat,readlinkat,fstatfs,statfs,flock")

BUDGETS = {
    "RETR": 3, "SIZE": 1, "SIZE nested": 3, "MDTM": 1, "CWD": 1, "STOR": 4, "STOR over": 5, "MKD": 1,
    "MKD nested": 3, "RMD": 1, "DELE": 2, "RNFR+RNTO": 3, "SIZE nested, folder kept": 1,
    "RETR nested, folder kept": 3, "LIST nested, folder kept": 8,
}


@skip_on_windows("strace of a Linux process")
@skip_unless_ferryd("counts ferryd's own calls")
@unittest.skipUnless(shutil.which("strace"), "strace is not installed (make deps installs it)")
class MetadataCallTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = {"upload_digests": []}  # an upload's digests read the file back: a handle of their own

    def traced(self, step):
        """Runs step() with strace attached to ferryd; returns the calls on the home's paths."""
        home = self.srv.home("alice")
        out = self.lpath("calls.trace")
        tracer = subprocess.Popen(["strace", "-f", "-y", "-qq", "-e", "trace=" + TRACED, "-o", out,
                                   "-p", str(self.srv.proc.pid)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(out) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # every thread attached
        if tracer.poll() is not None:
            self.skipTest("strace cannot attach here: %s" % tracer.stderr.read().decode(errors="replace"))
        try:
            step()
            time.sleep(0.3)  # a close on the pool after the reply
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(10)
            tracer.stderr.close()
        with open(out) as f:
            lines = [line for line in f if home in line]
        return [re.sub(r"^\d+\s+", "", line).split("(")[0] for line in lines]

    def assert_within_budget(self, name, step):
        calls = self.traced(step)
        self.assertGreater(len(calls), 0, "%s: strace saw no call at all" % name)
        self.assertLessEqual(len(calls), BUDGETS[name], "%s: %s" % (name, calls))

    def test_each_command_within_its_budget(self):
        home = self.srv.home("alice")
        make_file(os.path.join(home, "f.bin"), 65536, seed="calls")
        os.makedirs(os.path.join(home, "d"), exist_ok=True)
        make_file(os.path.join(home, "d", "n.bin"), 100, seed="nested")
        ftp = self.login()
        ftp.voidcmd("TYPE I")
        steps = [
            ("RETR", lambda: retr_bytes(ftp, "f.bin")),
            ("SIZE", lambda: ftp.size("f.bin")),
            ("SIZE nested", lambda: ftp.size("d/n.bin")),
            ("SIZE nested, folder kept", lambda: ftp.size("d/n.bin")),
            ("RETR nested, folder kept", lambda: retr_bytes(ftp, "d/n.bin")),
            ("LIST nested, folder kept", lambda: list_text(ftp, "LIST d")),
            ("MDTM", lambda: ftp.voidcmd("MDTM f.bin")),
            ("CWD", lambda: ftp.cwd("d")),
            ("CWD", lambda: ftp.cwd("/")),
            ("STOR", lambda: ftp.storbinary("STOR g.bin", io.BytesIO(b"g" * 65536))),
            ("STOR over", lambda: ftp.storbinary("STOR g.bin", io.BytesIO(b"h" * 1000))),
            ("MKD", lambda: ftp.mkd("e")),
            ("MKD nested", lambda: ftp.mkd("d/e")),
            ("RMD", lambda: ftp.rmd("e")),
            ("DELE", lambda: ftp.delete("g.bin")),
            ("RNFR+RNTO", lambda: ftp.rename("f.bin", "h.bin")),
        ]
        for name, step in steps:
            with self.subTest(command=name):
                self.assert_within_budget(name, step)
        self.assertTrue(os.path.isdir(os.path.join(home, "d", "e")))
        self.assertTrue(os.path.exists(os.path.join(home, "h.bin")))
        list_text(ftp)  # the session is still fine


class MetadataCallsWithoutFolderCacheTests(MetadataCallTests):
    """folder_cache_ms = 0: a name in a subfolder opens and closes its folder every time."""
    CONFIG = {"upload_digests": [], "folder_cache_ms": 0}

    def test_each_command_within_its_budget(self):
        home = self.srv.home("alice")
        os.makedirs(os.path.join(home, "d"), exist_ok=True)
        make_file(os.path.join(home, "d", "n.bin"), 100, seed="nested")
        ftp = self.login()
        for _ in range(2):
            calls = self.traced(lambda: ftp.size("d/n.bin"))
            self.assertEqual(len(calls), 3, calls)  # open of d, fstatat, close
