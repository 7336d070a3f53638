"""Users are jailed in their homes: no escape by '..', encoded '..', symlinks, or PORT bounce."""
import ftplib
import os
import shutil
import socket
import unittest

import harness
from harness import IS_FERRYD, ServerTestCase, cmd_code, raw_reply, retr_bytes, stor_bytes

with open("/etc/passwd", "rb") as _f:
    PASSWD = _f.read()


class JailTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        home = cls.srv.home("bob")
        with open(os.path.join(home, "bobsecret.txt"), "wb") as f:
            f.write(b"bob's secret\n")
        ahome = cls.srv.home("alice")
        os.makedirs(os.path.join(ahome, "pub"), exist_ok=True)
        with open(os.path.join(ahome, "pub", "alicefile.txt"), "wb") as f:
            f.write(b"alice\n")
        os.symlink("/etc", os.path.join(ahome, "etclink"))
        os.symlink("../bob", os.path.join(ahome, "boblink"))
        os.symlink("/etc/passwd", os.path.join(ahome, "passwdlink"))
        os.symlink("../bob/bobsecret.txt", os.path.join(ahome, "pub", "secretlink"))

    def try_retr(self, ftp, path):
        """Returns (code or None, data or None)."""
        try:
            return None, retr_bytes(ftp, path)
        except ftplib.error_perm as e:
            return int(str(e)[:3]), None
        except ftplib.error_temp as e:
            return int(str(e)[:3]), None

    def assert_no_escape(self, ftp, path, forbidden=PASSWD):
        code, data = self.try_retr(ftp, path)
        if data is not None:
            self.assertNotEqual(data, forbidden, "RETR %r returned a file from outside the home" % path)
            self.assertNotIn(b"root:", data, path)
            self.assertNotIn(b"secret", data, path)
        else:
            self.assertGreaterEqual(code, 500, path)
            if IS_FERRYD:
                self.assertEqual(code, 550, path)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))

    def test_two_users_isolated(self):
        alice = self.login("alice")
        bob = self.login("bob")
        stor_bytes(bob, "bob_upload.txt", b"from bob")
        self.assertEqual(retr_bytes(bob, "bobsecret.txt"), b"bob's secret\n")
        names = [os.path.basename(n) for n in alice.nlst()]
        self.assertIn("pub", names)
        self.assertNotIn("bobsecret.txt", names)
        self.assertNotIn("bob_upload.txt", names)
        bob_names = [os.path.basename(n) for n in bob.nlst()]
        self.assertIn("bobsecret.txt", bob_names)
        self.assertNotIn("pub", bob_names)
        for p in ("/../bob/bobsecret.txt", "../bob/bobsecret.txt", "/bob/bobsecret.txt",
                  "../../homes/bob/bobsecret.txt"):
            self.assert_no_escape(alice, p, forbidden=b"bob's secret\n")
        for d in ("../bob", "/../bob", "/bob"):
            with self.assertRaises(ftplib.error_perm, msg=d):
                alice.cwd(d)
            self.assertEqual(alice.pwd(), "/")
        # bob's file is untouched by alice's attempts
        self.assertEqual(retr_bytes(bob, "bobsecret.txt"), b"bob's secret\n")

    def test_cwd_dotdot_at_top_stays_root(self):
        ftp = self.login()
        for _ in range(3):
            try:
                ftp.cwd("..")
            except ftplib.error_perm:
                pass
            self.assertEqual(ftp.pwd(), "/")
        try:
            ftp.sendcmd("CDUP")
        except ftplib.error_perm:
            pass
        self.assertEqual(ftp.pwd(), "/")
        try:
            ftp.cwd("../../..")
        except ftplib.error_perm:
            pass
        self.assertEqual(ftp.pwd(), "/")
        names = [os.path.basename(n) for n in ftp.nlst()]
        self.assertIn("pub", names)  # still alice's home
        ftp.cwd("/pub")
        try:
            ftp.cwd("../..")
        except ftplib.error_perm:
            pass
        self.assertIn(ftp.pwd(), ("/", "/pub"))

    def test_dotdot_paths_to_etc_passwd(self):
        ftp = self.login()
        ftp.cwd("/pub")
        for p in ("../../etc/passwd", "../../../../etc/passwd", "/../../etc/passwd",
                  "../../../../../../../../../../etc/passwd", "/pub/../../../etc/passwd",
                  "..%2f..%2fetc%2fpasswd", "..%2f..%2f..%2f..%2fetc%2fpasswd",
                  "/..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                  "..\\..\\..\\etc\\passwd", "/etc/passwd"):
            with self.subTest(path=p):
                self.assert_no_escape(ftp, p)
        # listing outside the home shows nothing of /etc
        for p in ("../../etc", "/../../../etc"):
            try:
                text = harness.list_text(ftp, "LIST " + p)
            except (ftplib.error_perm, ftplib.error_temp):
                text = ""
            self.assertNotIn("passwd", text, p)
            self.assertNotIn("hostname", text, p)

    def test_symlinks_not_followed_out(self):
        ftp = self.login()
        for link in ("etclink", "boblink"):
            with self.subTest(link=link):
                try:
                    ftp.cwd(link)
                    entered = True
                except ftplib.error_perm:
                    entered = False
                if entered:
                    try:
                        names = [os.path.basename(n) for n in ftp.nlst()]
                    except (ftplib.error_perm, ftplib.error_temp):
                        names = []
                    self.assertNotIn("passwd", names)
                    self.assertNotIn("bobsecret.txt", names)
                    ftp.cwd("/")
                self.assertEqual(ftp.pwd(), "/")
                for cmd in ("LIST " + link, "LIST " + link + "/", "NLST " + link + "/"):
                    try:
                        text = harness.list_text(ftp, cmd)
                    except (ftplib.error_perm, ftplib.error_temp):
                        text = ""
                    self.assertNotIn("passwd", text, cmd)
                    self.assertNotIn("hostname", text, cmd)
                    self.assertNotIn("bobsecret", text, cmd)
        self.assert_no_escape(ftp, "etclink/passwd")
        self.assert_no_escape(ftp, "/etclink/passwd")
        self.assert_no_escape(ftp, "passwdlink")
        self.assert_no_escape(ftp, "boblink/bobsecret.txt", forbidden=b"bob's secret\n")
        self.assert_no_escape(ftp, "pub/secretlink", forbidden=b"bob's secret\n")
        # writing through a symlink must not land outside either
        try:
            stor_bytes(ftp, "boblink/planted.txt", b"planted")
        except (ftplib.error_perm, ftplib.error_temp):
            pass
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("bob"), "planted.txt")))
        try:
            ftp.mkd("boblink/planted_dir")
        except (ftplib.error_perm, ftplib.error_temp):
            pass
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("bob"), "planted_dir")))

    def test_port_bounce_refused(self):
        ftp = self.login()
        # 127.0.0.2 is loopback but not the control connection's peer address.
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.2", 0))
        lst.listen(1)
        lst.settimeout(1.0)
        port = lst.getsockname()[1]
        try:
            code = cmd_code(ftp, "PORT 127,0,0,2,%d,%d" % (port >> 8, port & 255))
            self.assertGreaterEqual(code, 500, "PORT to a foreign address must be refused")
            self.assertLess(code, 600)
            code = cmd_code(ftp, "EPRT |1|127.0.0.2|%d|" % port)
            self.assertGreaterEqual(code, 500, "EPRT to a foreign address must be refused")
            self.assertLess(code, 600)
            if IS_FERRYD:
                # Asking for a transfer now must not connect to 127.0.0.2 (425: no data connection).
                ftp.putcmd("NLST")
                resp = raw_reply(ftp)
                if resp.startswith("1"):
                    resp = raw_reply(ftp)
                self.assertIn(resp[0], "45", resp)
            with self.assertRaises(socket.timeout):
                c, _ = lst.accept()
                c.close()
        finally:
            lst.close()
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        # PORT to our own address still works afterwards
        self.assertIn("pub", [os.path.basename(n) for n in harness.list_text(ftp, "NLST", mode="port").split()])


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(harness.ON_WINDOWS, "names that only Windows treats specially (the Windows build under wine)")
class WindowsNamesTest(ServerTestCase):
    """Device names, alternate data streams, drive letters, backslashes and trailing dots or spaces
    (which Windows strips, so "a." would be "a"): none reaches the file system as a name."""
    USERS = {"alice": "alice-pw-1"}

    def test_special_names_are_refused_and_nothing_is_made(self):
        ftp = self.login()
        ftp.voidcmd("TYPE I")
        stor_bytes(ftp, "a", b"plain")
        home = self.srv.home("alice")
        before = sorted(os.listdir(home))
        for name in ("CON", "nul", "nul.txt", "COM1", "lpt9.log", "CONIN$", "a:stream", "a::$DATA", "C:x",
                     "a.", "a ", "x<y", "q?", "star*", "pipe|", 'quote"', "back\\slash", "..\\a"):
            with self.subTest(name=name):
                with self.assertRaises(ftplib.error_perm) as refused:
                    stor_bytes(ftp, name, b"x")
                self.assertTrue(str(refused.exception).startswith("553"), str(refused.exception))
                with self.assertRaises(ftplib.error_perm) as missing:
                    retr_bytes(ftp, name)
                self.assertTrue(str(missing.exception).startswith("550"), str(missing.exception))
                with self.assertRaises(ftplib.error_perm):
                    ftp.mkd(name)
        # "a." and "a " must not have reached "a" either
        self.assertEqual(retr_bytes(ftp, "a"), b"plain")
        self.assertEqual(sorted(os.listdir(home)), before)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))


@harness.skip_unless_ferryd("homes beneath root are ferryd's")
class HomesBeneathRootTest(ServerTestCase):
    """A home is opened beneath root's folder and never through a symlink: a link that a local user
    plants where a home is (not over FTP) moves nobody outside root. Homes never nest."""
    USERS = {"hilda": "hilda-pw-12", "ivan": "ivan-pw-123"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outside = os.path.join(cls.srv.tmp, "elsewhere")
        os.makedirs(cls.outside, exist_ok=True)
        with open(os.path.join(cls.outside, "private.txt"), "wb") as f:
            f.write(b"secret outside root\n")

    def test_a_symlink_on_the_home_path_refuses_the_login(self):
        home = self.srv.home("ivan")
        shutil.rmtree(home, ignore_errors=True)
        os.symlink(self.outside, home)
        try:
            ftp = ftplib.FTP()
            ftp.connect(harness.HOST, self.srv.port, timeout=10)
            with self.assertRaises(ftplib.error_perm) as caught:
                ftp.login("ivan", "ivan-pw-123")
            self.assertTrue(str(caught.exception).startswith("530"), caught.exception)
            ftp.close()
            self.assertRegex(self.srv.stderr_text(), r"cannot open home .*ivan")
        finally:
            os.unlink(home)
        self.assertTrue(os.path.isfile(os.path.join(self.outside, "private.txt")))

    def test_nested_homes_are_refused(self):
        from harness_ext import user_cli
        p = user_cli(self.srv, "add", "inner", "--home", "hilda/inner", "--password-stdin", input="inner-pw-123\n")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)  # refused, like a taken name
        self.assertIn("may not nest", p.stderr + p.stdout)
        p = user_cli(self.srv, "add", "outer", "--home", "hilda", "--adopt", "--password-stdin", input="outer-pw-123\n")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)  # refused, like a taken name
        self.assertIn("may not nest", p.stderr + p.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("hilda"), "inner")))
