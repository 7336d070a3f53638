"""wget and rclone as the clients, on plain FTP and explicit FTPS: wget's recursive download and
resume (-c), rclone's copy, sync, check --size-only and lsf. Both clients resume the control
connection's TLS session on data connections, so they work with tls_session_reuse = "required"."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import MiB, ServerTestCase, make_file, run, sha256_file, skip_unless_ferryd
from harness_ext import tls_config, user_cli
from test_lftp import tree_digest

WGET = shutil.which("wget")
RCLONE = shutil.which("rclone")


def make_tree(top):
    make_file(os.path.join(top, "a.txt"), 1000, seed="a")
    make_file(os.path.join(top, "sub", "b.bin"), 3 * MiB + 17, seed="b")
    make_file(os.path.join(top, "sub", "deeper", "c.dat"), 5, seed="c")
    make_file(os.path.join(top, "empty.txt"), 0, seed="e")
    return tree_digest(top)


class ClientTreeTest(ServerTestCase):
    USERS = {"erin": "erin-pw-5"}

    def home(self, *parts):
        return os.path.join(self.srv.home("erin"), *parts)

    def fresh(self, name):
        path = self.lpath(name)
        shutil.rmtree(path, ignore_errors=True)
        for p in (self.home(name),):
            shutil.rmtree(p, ignore_errors=True)
        return path


@unittest.skipIf(WGET is None, "wget not installed (make deps installs it)")
class WgetTests(ClientTreeTest):
    def wget(self, *args, scheme="ftp", timeout=90):
        for _ in range(3):
            p = run([WGET, "--no-verbose", "--tries=1", "--timeout=20", "--no-check-certificate"] + list(args),
                    timeout=timeout, cwd=self.local)
            # A race inside wget, not a refusal: after the control connection's handshake, GnuTLS
            # waits only its round-trip estimate + 60 ms for the server's TLS 1.3 session ticket.
            # If the server is slower (seen once under wine on a busy CI machine), wget has no
            # session to resume and gives up on the data connection itself. Asked again, it gets one.
            if p.returncode == 0 or "Could not save SSL session data" not in p.stdout + p.stderr:
                break
        self.assertEqual(p.returncode, 0, "wget %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr[-3000:]))
        return p

    def url(self, path, scheme="ftp"):
        return "%s://erin:%s@127.0.0.1:%d%s" % (scheme, self.srv.passwords["erin"], self.srv.port, path)

    def check_recursive(self, scheme):
        want = make_tree(self.home("tree-" + scheme))
        dest = self.fresh("dl-" + scheme)
        self.wget("-r", "-nH", "-P", dest, self.url("/tree-%s/" % scheme, scheme))
        got = tree_digest(os.path.join(dest, "tree-" + scheme))
        self.assertEqual(got, want)

    def test_recursive_download(self):
        self.check_recursive("ftp")

    def test_resume_with_c(self):
        src = make_file(self.home("big.bin"), 9 * MiB + 3, seed="wget-c")
        local = self.lpath("big.bin")
        with open(src, "rb") as f, open(local, "wb") as g:
            g.write(f.read(4 * MiB))
        self.wget("-c", "-O", local, self.url("/big.bin"))
        self.assertEqual(sha256_file(local), sha256_file(src))
        # the server sent only the missing part (REST), which the xferlog shows
        line = [l for l in self.srv.xferlog_text().splitlines() if "big.bin" in l][-1]
        self.assertIn(" %d " % (5 * MiB + 3), line)


@unittest.skipIf(WGET is None, "wget not installed (make deps installs it)")
@skip_unless_ferryd("explicit FTPS with the server's TLS settings")
class WgetTlsTests(WgetTests):
    CONFIG = tls_config("required")

    def url(self, path, scheme="ftp"):
        return super().url(path, "ftps")

    def test_recursive_download(self):
        self.check_recursive("ftps")
        self.assertIn("control connection secured", self.srv.log_text())


class RcloneClient(ClientTreeTest):
    EXTRA = ""

    def remote(self, path):
        obscured = subprocess.run([RCLONE, "obscure", self.srv.passwords["erin"]], capture_output=True,
                                  text=True, check=True).stdout.strip()
        return ":ftp,host=127.0.0.1,port=%d,user=erin,pass=%s%s:%s" % (self.srv.port, obscured, self.EXTRA, path)

    def rclone(self, *args, check=True):
        env = dict(os.environ, RCLONE_CONFIG=os.path.join(self.local, "rclone.conf"))
        p = run([RCLONE, "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "20s"]
                + list(args), timeout=120, env=env)
        if check:
            self.assertEqual(p.returncode, 0, "rclone %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr[-3000:]))
        return p



@unittest.skipIf(RCLONE is None, "rclone not installed (make deps installs it)")
class RcloneTests(RcloneClient):
    def test_copy_check_lsf_and_sync(self):
        src = self.lpath("up")
        shutil.rmtree(src, ignore_errors=True)
        want = make_tree(src)
        self.rclone("copy", src, self.remote("up"))
        self.assertEqual(tree_digest(self.home("up")), want)
        self.rclone("check", "--size-only", src, self.remote("up"))
        listed = self.rclone("lsf", "-R", self.remote("up")).stdout.split()
        self.assertEqual(sorted(listed), sorted(["a.txt", "empty.txt", "sub/", "sub/b.bin", "sub/deeper/",
                                                 "sub/deeper/c.dat"]))
        # sync: a file gone locally goes on the server too; a changed one is sent again
        os.remove(os.path.join(src, "a.txt"))
        make_file(os.path.join(src, "sub", "b.bin"), 2 * MiB, seed="b2")
        self.rclone("sync", src, self.remote("up"))
        self.assertEqual(tree_digest(self.home("up")), tree_digest(src))
        self.rclone("check", "--size-only", src, self.remote("up"))
        # and back down
        down = self.lpath("down")
        shutil.rmtree(down, ignore_errors=True)
        self.rclone("copy", self.remote("up"), down)
        self.assertEqual(tree_digest(down), tree_digest(src))

    def test_check_finds_a_difference(self):
        src = self.lpath("diff")
        shutil.rmtree(src, ignore_errors=True)
        make_tree(src)
        self.rclone("copy", src, self.remote("diff"))
        with open(self.home("diff", "a.txt"), "ab") as f:
            f.write(b"more")
        p = self.rclone("check", "--size-only", src, self.remote("diff"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("a.txt", p.stderr)


@unittest.skipIf(RCLONE is None, "rclone not installed (make deps installs it)")
@skip_unless_ferryd("explicit FTPS with the server's TLS settings")
class RcloneTlsTests(RcloneTests):
    CONFIG = tls_config("required")
    EXTRA = ",explicit_tls=true,no_check_certificate=true"

    def test_copy_check_lsf_and_sync(self):
        super().test_copy_check_lsf_and_sync()
        self.assertIn("control connection secured", self.srv.log_text())
        self.assertNotIn("did not resume", self.srv.log_text())


@unittest.skipIf(RCLONE is None, "rclone not installed (make deps installs it)")
@skip_unless_ferryd("the quota is ferryd's")
class RcloneOverQuotaTests(RcloneClient):
    """Over quota rclone reports the server's 552, not a connection reset."""

    def test_copy_over_quota_shows_the_552(self):
        self.assertEqual(user_cli(self.srv, "quota", "erin", "1M").returncode, 0)  # at the next login
        src = self.lpath("big")
        shutil.rmtree(src, ignore_errors=True)
        make_file(os.path.join(src, "big.bin"), 3 * MiB, seed="over")
        p = self.rclone("copy", src, self.remote("quota"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("552", p.stderr)
        self.assertNotIn("connection reset", p.stderr.lower())
