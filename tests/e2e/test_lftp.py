"""lftp as the client: put/get/ls/cls/mkdir/cd/mv/rm, mirror both ways, get -c, passive and active."""
import os
import shutil
import tempfile
import unittest

import harness
from harness import MiB, ServerTestCase, make_file, run, sha256_file

LFTP = shutil.which("lftp")
SETTINGS = ("set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 10; "
            "set net:reconnect-interval-base 1; set cmd:fail-exit yes; set xfer:clobber yes; ")


def tree_digest(top):
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, top)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d))] = "dir"
        for f in filenames:
            out[os.path.normpath(os.path.join(rel, f))] = sha256_file(os.path.join(dirpath, f))
    return out


@unittest.skipIf(LFTP is None, "lftp not installed (make deps installs it)")
class LftpTest(ServerTestCase):
    USERS = {"dave": "dave-pw-4"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lftp_home = tempfile.mkdtemp(prefix="ferry-e2e-lftp-home-")
        cls.addClassCleanup(shutil.rmtree, cls.lftp_home, True)

    def lftp(self, commands, passive=True, check=True, timeout=90, debug=False):
        script = SETTINGS
        if not passive:
            script += "set ftp:passive-mode off; "
        script += "open -u dave,%s ftp://127.0.0.1:%d; " % (self.srv.passwords["dave"], self.srv.port)
        script += commands
        env = dict(os.environ, HOME=self.lftp_home)
        cmd = [LFTP] + (["-d"] if debug else []) + ["-c", script]
        p = run(cmd, timeout=timeout, env=env, cwd=self.local)
        if check:
            self.assertEqual(p.returncode, 0, "lftp %r failed (%d):\n%s\n%s" % (commands, p.returncode,
                                                                              p.stdout[-2000:], p.stderr[-3000:]))
        return p

    def remote(self, *parts):
        return os.path.join(self.srv.home("dave"), *parts)

    def test_put_get_ls_cls(self):
        local = make_file(self.lpath("lf1.bin"), MiB + 3)
        self.lftp("put lf1.bin -o lf1.bin")
        self.assertEqual(sha256_file(self.remote("lf1.bin")), sha256_file(local))
        p = self.lftp("ls")
        self.assertIn("lf1.bin", p.stdout)
        p = self.lftp("cls -1")
        self.assertIn("lf1.bin", p.stdout.split())
        self.lftp("get lf1.bin -o lf1.back")
        self.assertEqual(sha256_file(self.lpath("lf1.back")), sha256_file(local))
        # a missing remote file is an error
        p = self.lftp("get no-such-file.bin -o nothing.bin", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_mkdir_cd_mv_rm(self):
        make_file(self.lpath("lf2.txt"), 1000)
        self.lftp("mkdir work; cd work; put lf2.txt; mv lf2.txt renamed.txt; ls")
        self.assertTrue(os.path.isfile(self.remote("work", "renamed.txt")))
        self.assertFalse(os.path.exists(self.remote("work", "lf2.txt")))
        self.assertEqual(sha256_file(self.remote("work", "renamed.txt")), sha256_file(self.lpath("lf2.txt")))
        p = self.lftp("cd work; pwd; cls")
        self.assertIn("renamed.txt", p.stdout)
        self.lftp("rm work/renamed.txt")
        self.assertFalse(os.path.exists(self.remote("work", "renamed.txt")))
        self.lftp("rmdir work")
        self.assertFalse(os.path.exists(self.remote("work")))
        p = self.lftp("cd no-such-dir", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_mirror_up_and_down(self):
        src = self.lpath("tree")
        make_file(os.path.join(src, "top.bin"), 200 * 1024)
        make_file(os.path.join(src, "empty.bin"), 0)
        make_file(os.path.join(src, "d1", "a.txt"), 1234)
        make_file(os.path.join(src, "d1", "d2", "b.bin"), MiB + 1)
        make_file(os.path.join(src, "d3", "c.bin"), 77)
        os.makedirs(os.path.join(src, "emptydir"), exist_ok=True)
        self.lftp("mirror -R tree mirrored")
        want = tree_digest(src)
        self.assertEqual(tree_digest(self.remote("mirrored")), want)
        self.lftp("mirror mirrored tree_back")
        self.assertEqual(tree_digest(self.lpath("tree_back")), want)

    def test_get_c_resume(self):
        size = 5 * MiB + 11
        make_file(self.remote("resume.bin"), size)
        part = self.lpath("resume.bin")
        with open(self.remote("resume.bin"), "rb") as f, open(part, "wb") as g:
            g.write(f.read(2 * MiB + 5))
        p = self.lftp("get -c resume.bin -o resume.bin", debug=True)
        self.assertIn("REST %d" % (2 * MiB + 5), p.stderr)
        self.assertEqual(os.path.getsize(part), size)
        self.assertEqual(sha256_file(part), sha256_file(self.remote("resume.bin")))

    def test_passive_and_active(self):
        local = make_file(self.lpath("modes.bin"), 700 * 1024)
        for passive in (True, False):
            with self.subTest(passive=passive):
                name = "modes_%s.bin" % ("pasv" if passive else "active")
                back = self.lpath(name + ".back")
                p = self.lftp("put modes.bin -o %s; get %s -o %s; ls" % (name, name, os.path.basename(back)),
                              passive=passive, debug=True)
                if passive:
                    self.assertRegex(p.stderr, r"---> (PASV|EPSV)")
                else:
                    self.assertRegex(p.stderr, r"---> (PORT|EPRT)")
                    self.assertNotRegex(p.stderr, r"---> (PASV|EPSV)")
                self.assertEqual(sha256_file(self.remote(name)), sha256_file(local))
                self.assertEqual(sha256_file(back), sha256_file(local))
                self.assertIn(name, p.stdout)


if __name__ == "__main__":
    unittest.main()
