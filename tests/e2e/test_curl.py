"""curl as the client: listing, uploads, downloads, resume, active/passive, quote commands."""
import os
import shutil
import unittest

import harness
from harness import MiB, ServerTestCase, make_file, run, sha256_file

CURL = shutil.which("curl")


@unittest.skipIf(CURL is None, "curl not installed (make deps installs it)")
class CurlTest(ServerTestCase):
    USERS = {"carol": "carol-pw-3"}

    def curl(self, *args, check=True, timeout=120):
        cmd = [CURL, "-s", "-S", "--max-time", str(timeout - 5), "--connect-timeout", "10",
               "--user", "carol:" + self.srv.passwords["carol"]] + list(args)
        p = run(cmd, timeout=timeout)
        if check:
            self.assertEqual(p.returncode, 0, "curl %s failed (%d): %s" % (args, p.returncode, p.stderr[-2000:]))
        return p

    def url(self, path=""):
        return "ftp://127.0.0.1:%d/%s" % (self.srv.port, path)

    def remote(self, *parts):
        return os.path.join(self.srv.home("carol"), *parts)

    def test_list(self):
        os.makedirs(self.remote("listdir", "inner"), exist_ok=True)
        make_file(self.remote("listdir", "x.bin"), 10)
        p = self.curl(self.url())
        self.assertIn("listdir", p.stdout)
        p = self.curl(self.url("listdir/"))
        self.assertIn("x.bin", p.stdout)
        self.assertIn("inner", p.stdout)
        p = self.curl("--list-only", self.url("listdir/"))
        self.assertEqual(sorted(p.stdout.split()), ["inner", "x.bin"])

    def _updown(self, size, extra_up=(), extra_down=()):
        name = "curl_%d.bin" % size
        local = make_file(self.lpath(name), size)
        self.curl(*extra_up, "-T", local, self.url(name))
        self.assertEqual(os.path.getsize(self.remote(name)), size)
        self.assertEqual(sha256_file(self.remote(name)), sha256_file(local))
        back = self.lpath(name + ".back")
        self.curl(*extra_down, "-o", back, self.url(name))
        self.assertEqual(os.path.getsize(back), size)
        self.assertEqual(sha256_file(back), sha256_file(local))
        os.unlink(back)
        os.unlink(local)

    def test_updown_0_bytes(self):
        self._updown(0)

    def test_updown_1_mib(self):
        self._updown(MiB)

    def test_updown_64_mib(self):
        self._updown(64 * MiB)

    def test_create_dirs(self):
        local = make_file(self.lpath("deep.bin"), 5000)
        self.curl("--ftp-create-dirs", "-T", local, self.url("a/b/c/deep.bin"))
        self.assertTrue(os.path.isdir(self.remote("a", "b", "c")))
        self.assertEqual(sha256_file(self.remote("a", "b", "c", "deep.bin")), sha256_file(local))
        # without --ftp-create-dirs a missing folder is an error
        p = self.curl("-T", local, self.url("zz/yy/deep.bin"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(self.remote("zz")))

    def test_resume_download(self):
        size = 3 * MiB + 123
        make_file(self.remote("rdown.bin"), size)
        part = self.lpath("rdown.bin")
        with open(self.remote("rdown.bin"), "rb") as f, open(part, "wb") as g:
            g.write(f.read(MiB + 7))
        p = self.curl("-v", "-C", "-", "-o", part, self.url("rdown.bin"))
        self.assertIn("REST %d" % (MiB + 7), p.stderr)
        self.assertEqual(os.path.getsize(part), size)
        self.assertEqual(sha256_file(part), sha256_file(self.remote("rdown.bin")))

    def test_resume_upload(self):
        size = 2 * MiB + 99
        local = make_file(self.lpath("rup.bin"), size)
        with open(local, "rb") as f, open(self.remote("rup.bin"), "wb") as g:
            g.write(f.read(700 * 1024))
        p = self.curl("-v", "-C", "-", "-T", local, self.url("rup.bin"))
        self.assertIn("APPE", p.stderr)
        self.assertEqual(os.path.getsize(self.remote("rup.bin")), size)
        self.assertEqual(sha256_file(self.remote("rup.bin")), sha256_file(local))

    def test_active_mode(self):
        local = make_file(self.lpath("active.bin"), 512 * 1024)
        p = self.curl("-v", "--ftp-port", "127.0.0.1", "-T", local, self.url("active.bin"))
        self.assertRegex(p.stderr, r"> (EPRT|PORT) ")
        self.assertEqual(sha256_file(self.remote("active.bin")), sha256_file(local))
        back = self.lpath("active.back")
        p = self.curl("-v", "--ftp-port", "127.0.0.1", "-o", back, self.url("active.bin"))
        self.assertRegex(p.stderr, r"> (EPRT|PORT) ")
        self.assertEqual(sha256_file(back), sha256_file(local))
        p = self.curl("-v", "--ftp-port", "127.0.0.1", self.url())
        self.assertIn("active.bin", p.stdout)

    def test_epsv_default_and_pasv(self):
        make_file(self.remote("pasv.bin"), 100 * 1024)
        back = self.lpath("epsv.back")
        p = self.curl("-v", "-o", back, self.url("pasv.bin"))
        self.assertIn("> EPSV", p.stderr)
        self.assertNotIn("> PASV", p.stderr, "EPSV should have worked without falling back")
        self.assertEqual(sha256_file(back), sha256_file(self.remote("pasv.bin")))
        back2 = self.lpath("pasv.back")
        p = self.curl("-v", "--disable-epsv", "-o", back2, self.url("pasv.bin"))
        self.assertIn("> PASV", p.stderr)
        self.assertNotIn("> EPSV", p.stderr)
        self.assertEqual(sha256_file(back2), sha256_file(self.remote("pasv.bin")))

    def test_quote_dele_and_rename(self):
        make_file(self.remote("victim.txt"), 10)
        self.curl("-Q", "DELE victim.txt", self.url())
        self.assertFalse(os.path.exists(self.remote("victim.txt")))
        make_file(self.remote("before.txt"), 20)
        p = self.curl("-Q", "RNFR before.txt", "-Q", "RNTO after.txt", self.url())
        self.assertFalse(os.path.exists(self.remote("before.txt")))
        self.assertTrue(os.path.isfile(self.remote("after.txt")))
        self.assertIn("after.txt", p.stdout)
        # a failing quote command makes curl fail
        p = self.curl("-Q", "DELE no-such-file.txt", self.url(), check=False)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
