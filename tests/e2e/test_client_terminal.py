"""ferry on a terminal against the real ferryd: the menu (create user with SITE REGISTER, log in),
passwords without echo, the progress bar (and none in a pipe), Ctrl-C during a transfer (issue 7)."""
import os
import shutil

from client_support import PASSWORD, ClientTestCase, sha256_of, wait_for_size, write_random


def start_create_user(term, name, password, quota=""):
    """The menu's "1. create user" up to the server's answer: name, password twice, quota."""
    term.expect("3. quit")
    term.send("1")
    term.expect("name: ")
    term.send(name)
    term.expect("password: ")
    term.send(password)
    term.expect("password again: ")
    term.send(password)
    term.expect("quota")
    term.send(quota)


class MenuTests(ClientTestCase):
    def no_password_env(self):
        env = self.env()
        env.pop("FERRY_PASSWORD", None)
        return env

    def test_menu_create_user_then_log_in(self):
        term = self.pty(user=None, env=self.no_password_env())
        term.expect("1. create user  2. log in  3. quit")
        term.send("1")
        term.expect("name: ")
        term.send("alice")
        term.expect("password: ")
        term.send("s3cret-pw")
        term.expect("password again: ")
        term.send("s3cret-pw")
        term.expect("quota")
        term.send("0.1G")
        term.expect("registered with a quota of 107374182 bytes")
        term.expect("[alice]# ")
        term.send("quota")
        term.expect("of 107374182 bytes")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertNotIn("s3cret", term.text())  # never echoed

        term = self.pty(user=None, env=self.no_password_env())
        term.expect("3. quit")
        term.send("2")
        term.expect("name: ")
        term.send("alice")
        term.expect("password: ")
        term.send("s3cret-pw")
        term.expect("[alice]# ")
        term.send("pwd")
        term.expect("/")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertNotIn("s3cret", term.text())

    def test_menu_quit_and_mismatched_passwords(self):
        term = self.pty(user=None)
        term.expect("3. quit")
        term.send("1")
        term.expect("name: ")
        term.send("bob")
        term.expect("password: ")
        term.send("one-password")
        term.expect("password again: ")
        term.send("two-password")
        term.expect("differ")
        term.expect("3. quit")
        term.send("3")
        self.assertEqual(term.finish(), 0, term.text())
        result = self.ferry("pwd", user="bob", env=self.env(FERRY_PASSWORD="one-password"))
        self.assertFailed(result)  # no account was made

    def test_password_asked_without_echo(self):
        term = self.pty(env=self.no_password_env())
        term.expect("password for user: ")
        term.send(PASSWORD)
        term.expect("[user]# ")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertNotIn(PASSWORD, term.text())


class ClosedRegistrationTests(ClientTestCase):
    CONFIG = {"registration": "closed"}

    def test_menu_says_registration_is_closed(self):
        term = self.pty(user=None)
        start_create_user(term, "carol", "carol-pass-1")
        term.expect("create user carol: not supported by this server (502 Registration is closed")
        term.expect("create it through an admin login (SITE ADDUSER)? [y/N] ")
        term.send("n")
        term.expect("3. quit")
        term.send("3")
        self.assertEqual(term.finish(), 0, term.text())
        result = self.ferry("pwd", user="carol", env=self.env(FERRY_PASSWORD="carol-pass-1"))
        self.assertFailed(result)  # no account was made


class AdminCreatesUserTests(ClientTestCase):
    """Registration closed: the menu offers SITE ADDUSER through an admin login, then logs the
    new user in (and never stays logged in as the admin)."""
    CONFIG = {"registration": "closed"}
    USERS = ["user", "root1"]
    ADMINS = ("root1",)

    def test_menu_creates_the_user_through_an_admin(self):
        env = self.env()
        env.pop("FERRY_PASSWORD", None)
        term = self.pty(user=None, env=env)
        start_create_user(term, "dave", "dave-pass-1")
        term.expect("502 Registration is closed")
        term.expect("[y/N] ")
        term.send("y")
        term.expect("admin name: ")
        term.send("root1")
        term.expect("password for root1: ")
        term.send(PASSWORD)
        term.expect("[dave]# ")
        term.send("pwd")
        term.expect("/")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertNotIn("dave-pass-1", term.text())
        self.assertNotIn(PASSWORD, term.text())
        result = self.ferry("pwd", user="dave", env=self.env(FERRY_PASSWORD="dave-pass-1"))
        self.assertOk(result)

    def test_a_non_admin_gets_the_refusal_and_the_menu_again(self):
        env = self.env()
        env.pop("FERRY_PASSWORD", None)
        term = self.pty(user=None, env=env)
        start_create_user(term, "erin", "erin-pass-1")
        term.expect("[y/N] ")
        term.send("y")
        term.expect("admin name: ")
        term.send("user")
        term.expect("password for user: ")
        term.send(PASSWORD)
        term.expect("550 Permission denied")
        term.expect("3. quit")
        term.send("3")
        self.assertEqual(term.finish(), 0, term.text())


class ProgressTests(ClientTestCase):
    def test_bar_on_a_terminal(self):
        proxy = self.proxy(rate=4 << 20)  # long enough to draw the bar a few times
        self.local_file("bar.bin", 3 << 20, seed=9)
        term = self.pty(port=proxy.port)
        term.expect("[user]# ")
        term.send("put bar.bin")
        term.expect("verified MD5")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        text = term.text()
        self.assertIn("ETA", text)
        self.assertIn("%", text)
        self.assertIn("\r\x1b[K", text)  # the bar is erased at the end

    def test_no_bar_in_a_pipe_and_plain_lines_on_request(self):
        proxy = self.proxy(rate=2 << 20)
        self.local_file("p.bin", 6 << 20, seed=10)
        result = self.ferry("put p.bin", port=proxy.port)
        self.assertOk(result)
        self.assertNotIn("ETA", result.stderr)
        self.assertNotIn("\r", result.stderr)
        result = self.ferry("get p.bin back.bin", "--progress=plain", port=proxy.port)
        self.assertOk(result)
        self.assertIn("ETA", result.stderr)
        self.assertNotIn("\r", result.stderr)


class InterruptTests(ClientTestCase):
    def test_ctrl_c_aborts_a_download_and_keeps_the_partial_file(self):
        proxy = self.proxy(rate=1 << 20)
        write_random(self.remote("big.bin"), 8 << 20, seed=17)
        term = self.pty("--progress=none", port=proxy.port)
        term.expect("[user]# ")
        term.send("get big.bin")
        self.assertTrue(wait_for_size(self.lpath("big.bin"), 1 << 20))
        term.send_raw(b"\x03")  # ^C: SIGINT from the terminal
        term.expect("interrupted")
        term.expect("`get big.bin big.bin` again to resume")
        term.expect("[user]# ")  # the session goes on
        partial = os.path.getsize(self.lpath("big.bin"))
        self.assertTrue(0 < partial < (8 << 20), partial)
        term.send("get big.bin")
        term.expect("resume / overwrite / skip? [resume] ")
        term.send("")
        term.expect("verified MD5", timeout=30)
        term.send("quit")
        self.assertEqual(term.finish(), 1, term.text())  # a command failed (the interrupted one)
        self.assertIn("resumed, received", term.text())
        self.assertEqual(sha256_of(self.remote("big.bin")), sha256_of(self.lpath("big.bin")))

    def test_ctrl_c_aborts_an_upload(self):
        proxy = self.proxy(rate=1 << 20)
        path = self.local_file("up.bin", 8 << 20, seed=18)
        term = self.pty("--progress=none", port=proxy.port)
        term.expect("[user]# ")
        term.send("put up.bin")
        self.assertTrue(wait_for_size(self.remote("up.bin"), 1 << 20))
        term.send_raw(b"\x03")
        term.expect("interrupted")
        term.expect("`put up.bin up.bin` again to resume")
        term.expect("[user]# ")
        term.send("put up.bin")
        term.expect("resume / overwrite / skip? [resume] ")
        term.send("")
        term.expect("verified MD5", timeout=30)
        term.send("quit")
        self.assertEqual(term.finish(), 1, term.text())  # a command failed (the interrupted one)
        self.assertIn("resumed, sent", term.text())
        self.assertEqual(sha256_of(path), sha256_of(self.remote("up.bin")))
