"""SITE commands (issue 4): HELP, ADDUSER/DELUSER/SETQUOTA (admin), PASSWD (own), REGISTER before login
(open and closed registration, per-IP rate limit), and 20 concurrent ADDUSERs against one accounts file."""
import ftplib
import os
import threading
import time

import harness
from harness import MiB, cmd_code, quit_quietly, stor_bytes
from harness_ext import ExtServerTestCase, send_reply, site_quota, user_cli


def code_of(resp):
    return int(resp[:3])


class SiteMixin:
    def assert_login_ok(self, user, password):
        ftp = self.srv.ftp(user, password)
        try:
            self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        finally:
            quit_quietly(ftp)

    def assert_login_530(self, user, password):
        ftp = self.srv.connect()
        try:
            with self.assertRaises(ftplib.error_perm) as cm:
                ftp.login(user, password)
            self.assertTrue(str(cm.exception).startswith("530"), str(cm.exception))
        finally:
            quit_quietly(ftp)


@harness.skip_unless_ferryd("SITE administration is ferryd's")
class SiteTest(SiteMixin, ExtServerTestCase):
    USERS = {
        "root1": ("root1-pw-1", None, True),
        "plain": "plain-pw-12",
        "pwu": "pwu-old-pass",
        "quser": ("quser-pw-1", MiB),
    }

    def test_help_and_unknown(self):
        ftp = self.login("plain")
        resp = send_reply(ftp, "SITE HELP")
        self.assertEqual(code_of(resp), 214, resp)
        self.assertIn(code_of(send_reply(ftp, "SITE FROBNICATE x")), (500, 502))
        self.assertEqual(cmd_code(ftp, "NOOP"), 200)

    def test_adduser(self):
        adm = self.login("root1")
        resp = send_reply(adm, "SITE ADDUSER newu1 newu1-pass 5M")
        self.assertEqual(code_of(resp), 200, resp)
        ftp = self.srv.ftp("newu1", "newu1-pass")
        try:
            used, limit, _free, text = site_quota(ftp)
            self.assertEqual((used, limit), (0, 5 * MiB), text)
            stor_bytes(ftp, "f.txt", b"hello")
            self.assertTrue(os.path.isfile(os.path.join(self.srv.home("newu1"), "f.txt")))
        finally:
            quit_quietly(ftp)
        # without quota argument
        self.assertEqual(code_of(send_reply(adm, "SITE ADDUSER newu2 newu2-pass")), 200)
        self.assert_login_ok("newu2", "newu2-pass")
        # existing name, bad names, too short a password
        self.assertEqual(code_of(send_reply(adm, "SITE ADDUSER newu1 other-pass-1")), 550)
        self.assertEqual(code_of(send_reply(adm, "SITE ADDUSER plain other-pass-1")), 550)
        for bad in ("../evil", "a/b", ".hidden", "-dash"):
            resp = send_reply(adm, "SITE ADDUSER %s some-pass-12" % bad)
            self.assertEqual(code_of(resp), 501, "%s: %s" % (bad, resp))
        self.assertFalse(os.path.exists(os.path.join(self.srv.root, "evil")))
        self.assertEqual(code_of(send_reply(adm, "SITE ADDUSER newu3 short")), 501)
        self.assert_login_530("newu3", "short")
        # not an admin
        ftp = self.login("plain")
        self.assertEqual(code_of(send_reply(ftp, "SITE ADDUSER sneaky sneaky-pass")), 550)
        self.assert_login_530("sneaky", "sneaky-pass")
        # the shell sees the new accounts
        p = user_cli(self.srv, "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("newu1", p.stdout)
        self.assertNotIn("sneaky", p.stdout)

    def test_deluser(self):
        adm = self.login("root1")
        self.assertEqual(code_of(send_reply(adm, "SITE ADDUSER gone1 gone1-pass")), 200)
        ftp = self.srv.ftp("gone1", "gone1-pass")
        stor_bytes(ftp, "keep.txt", b"kept after deletion")
        quit_quietly(ftp)
        plain = self.login("plain")
        self.assertEqual(code_of(send_reply(plain, "SITE DELUSER gone1")), 550)
        self.assert_login_ok("gone1", "gone1-pass")
        self.assertEqual(code_of(send_reply(adm, "SITE DELUSER gone1")), 200)
        self.assert_login_530("gone1", "gone1-pass")
        # the home is kept, out of reach of any account (a new gone1 would start empty)
        self.assertFalse(os.path.exists(self.srv.home("gone1")))
        deleted = os.path.join(self.srv.root, ".deleted")
        kept = [n for n in os.listdir(deleted) if n.startswith("gone1-")]
        self.assertEqual(len(kept), 1, kept)
        with open(os.path.join(deleted, kept[0], "keep.txt"), "rb") as f:
            self.assertEqual(f.read(), b"kept after deletion")
        self.assertNotEqual(code_of(send_reply(adm, "SITE DELUSER gone1")), 200)
        self.assert_login_ok("plain", "plain-pw-12")

    def test_setquota_applies_at_once(self):
        q = self.login("quser")
        self.assertEqual(site_quota(q)[1], MiB)
        plain = self.login("plain")
        self.assertEqual(code_of(send_reply(plain, "SITE SETQUOTA quser 10M")), 550)
        self.assertEqual(site_quota(q)[1], MiB)
        adm = self.login("root1")
        resp = send_reply(adm, "SITE SETQUOTA quser 10M")
        self.assertEqual(code_of(resp), 200, resp)
        used, limit, free, text = site_quota(q)  # the running session, no new login
        self.assertEqual((limit, free), (10 * MiB, 10 * MiB - used), text)
        self.assertEqual(code_of(send_reply(adm, "SITE SETQUOTA quser lots")), 501)
        self.assertNotEqual(code_of(send_reply(adm, "SITE SETQUOTA nosuchuser 10M")), 200)

    @harness.skip_on_windows("SITE CHMOD sets mode bits; on Windows only the owner write bit maps (read-only attribute)")
    def test_chmod(self):
        ftp = self.login("plain")
        home = self.srv.home("plain")
        stor_bytes(ftp, "c file.txt", b"chmod me")
        ftp.mkd("cdir")
        path = os.path.join(home, "c file.txt")
        mode = lambda p: os.stat(p).st_mode & 0o7777
        resp = send_reply(ftp, "SITE CHMOD 604 c file.txt")  # a name with a space
        self.assertEqual(code_of(resp), 200, resp)
        self.assertEqual(mode(path), 0o604)
        self.assertIn("-rw----r--", "\n".join(l for l in harness.list_text(ftp, "LIST").splitlines() if "c file" in l))
        self.assertEqual(code_of(send_reply(ftp, "SITE CHMOD 0751 cdir")), 200)
        self.assertEqual(mode(os.path.join(home, "cdir")), 0o751)
        # refusals leave the mode as it was
        for bad, code in (("SITE CHMOD 4755 c file.txt", 501), ("SITE CHMOD 77x c file.txt", 501),
                          ("SITE CHMOD 644", 501), ("SITE CHMOD 00644 c file.txt", 501),
                          ("SITE CHMOD 044 c file.txt", 550), ("SITE CHMOD 644 cdir", 550),
                          ("SITE CHMOD 755 /", 550), ("SITE CHMOD 755 ..", 550),
                          ("SITE CHMOD 644 missing.txt", 550)):
            self.assertEqual(code_of(send_reply(ftp, bad)), code, bad)
        self.assertEqual(mode(path), 0o604)
        # a symlink out of the home is not followed out
        outside = os.path.join(self.srv.tmp, "outside-chmod.txt")
        with open(outside, "wb") as f:
            f.write(b"not yours")
        os.chmod(outside, 0o600)
        os.symlink(outside, os.path.join(home, "out-link"))
        self.assertEqual(code_of(send_reply(ftp, "SITE CHMOD 666 out-link")), 550)
        self.assertEqual(mode(outside), 0o600)
        anon = self.connect()
        self.assertEqual(code_of(send_reply(anon, "SITE CHMOD 644 c file.txt")), 530)
        quit_quietly(anon)

    def test_passwd(self):
        ftp = self.login("pwu", "pwu-old-pass")
        self.assertEqual(code_of(send_reply(ftp, "SITE PASSWD short")), 501)
        resp = send_reply(ftp, "SITE PASSWD pwu-new-pass")
        self.assertEqual(code_of(resp), 200, resp)
        self.assertEqual(cmd_code(ftp, "NOOP"), 200)
        self.assert_login_ok("pwu", "pwu-new-pass")
        self.assert_login_530("pwu", "pwu-old-pass")

    def test_register_closed_by_default(self):
        ftp = self.connect()
        self.assertEqual(code_of(send_reply(ftp, "SITE REGISTER reguser reguser-pass")), 502)
        self.assert_login_530("reguser", "reguser-pass")

    def test_concurrent_adduser_20(self):
        n = 20
        sessions = [self.login("root1") for _ in range(n)]
        barrier = threading.Barrier(n, timeout=30)
        replies = [None] * n

        def add(i):
            try:
                barrier.wait()
                replies[i] = send_reply(sessions[i], "SITE ADDUSER conc%02d conc%02d-password" % (i, i))
            except Exception as e:  # noqa: BLE001 - reported below
                replies[i] = "exception %r" % (e,)

        threads = [threading.Thread(target=add, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual([r[:3] for r in replies], ["200"] * n, replies)
        for i in range(n):
            self.assert_login_ok("conc%02d" % i, "conc%02d-password" % i)
        # nobody else lost their entry
        self.assert_login_ok("plain", "plain-pw-12")
        p = user_cli(self.srv, "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        for i in range(n):
            self.assertIn("conc%02d" % i, p.stdout)
        self.assertIn("root1", p.stdout)


@harness.skip_unless_ferryd("registration is ferryd's")
class RegisterLimitTest(SiteMixin, ExtServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = {"registration": "open", "registrations_per_hour": 3, "default_quota": "2M"}

    def test_register_open_quota_and_rate_limit(self):
        ftp = self.connect()
        resp = send_reply(ftp, "SITE REGISTER rega rega-password 1000")
        self.assertEqual(code_of(resp), 200, resp)
        resp = send_reply(ftp, "SITE REGISTER regb regb-password %d" % (1 << 40))
        self.assertEqual(code_of(resp), 200, resp)
        other = self.connect()  # the limit is per IP, not per connection
        resp = send_reply(other, "SITE REGISTER regc regc-password")
        self.assertEqual(code_of(resp), 200, resp)
        resp = send_reply(other, "SITE REGISTER regd regd-password")
        self.assertEqual(code_of(resp), 450, resp)
        self.assert_login_530("regd", "regd-password")
        for user, limit in (("rega", 1000), ("regb", 2 * MiB), ("regc", 2 * MiB)):
            s = self.srv.ftp(user, user + "-password")
            try:
                used, lim, _free, text = site_quota(s)
                self.assertEqual((used, lim), (0, limit), text)
            finally:
                quit_quietly(s)
        # registering did not log the connection in
        self.assertEqual(cmd_code(ftp, "PWD"), 530)


@harness.skip_unless_ferryd("registration is ferryd's")
class RegisterErrorsTest(SiteMixin, ExtServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = {"registration": "open", "registrations_per_hour": 100}

    def test_register_errors(self):
        ftp = self.connect()
        for bad in ("../evil", "a/b", ".dot"):
            resp = send_reply(ftp, "SITE REGISTER %s some-pass-12" % bad)
            self.assertEqual(code_of(resp), 501, "%s: %s" % (bad, resp))
        self.assertEqual(code_of(send_reply(ftp, "SITE REGISTER alice alice-pw-new")), 550)
        self.assertEqual(code_of(send_reply(ftp, "SITE REGISTER shorty short")), 501)
        self.assert_login_530("shorty", "short")
        self.assert_login_ok("alice", "alice-pw-1")  # taken name keeps its password
        self.assertEqual(code_of(send_reply(ftp, "SITE REGISTER fine1 fine1-password")), 200)
        self.assert_login_ok("fine1", "fine1-password")
        self.assertEqual(code_of(send_reply(ftp, "SITE REGISTER fine1 fine1-password")), 550)


@harness.skip_unless_ferryd("the accounts watcher is ferryd's")
class ShellEditsReachSessionsTest(SiteMixin, ExtServerTestCase):
    """`ferryd user quota|disable|del` from the shell reach running sessions within
    accounts_check_interval, not only at the next login."""
    USERS = {
        "wq": ("wq-pass-12", MiB),
        "wdis": "wdis-pass-1",
        "wdel": "wdel-pass-1",
        "wother": "wother-pass",
    }
    CONFIG = {"accounts_check_interval": 1}

    def wait_for(self, probe, seconds=6):
        deadline = time.monotonic() + seconds
        while True:
            value = probe()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.1)

    def assert_closed_with_421(self, ftp, who):
        seen = []

        def closed():  # the unsolicited 421 is read as NOOP's reply, unless the socket is gone first
            try:
                seen.append(send_reply(ftp, "NOOP"))
                return not seen[-1].startswith("200")
            except (EOFError, OSError, ftplib.Error) as e:
                seen.append(repr(e))
                return True
        self.assertTrue(self.wait_for(closed), "%s's session still works" % who)
        self.assertRegex(seen[-1], r"^(421 Your account has been (disabled|deleted)\.|.*Error)", seen)

    def test_quota_from_the_shell_applies_to_a_running_session(self):
        ftp = self.login("wq")
        self.assertEqual(site_quota(ftp)[1], MiB)
        p = user_cli(self.srv, "quota", "wq", "3M")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(self.wait_for(lambda: site_quota(ftp)[1] == 3 * MiB), site_quota(ftp)[3])
        self.assertEqual(cmd_code(ftp, "NOOP"), 200)

    def test_disable_and_delete_close_that_users_sessions_only(self):
        dis, dele, other = self.login("wdis"), self.login("wdel"), self.login("wother")
        for args in (("disable", "wdis"), ("del", "wdel")):
            p = user_cli(self.srv, *args)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assert_closed_with_421(dis, "the disabled user")
        self.assert_closed_with_421(dele, "the deleted user")
        self.assertEqual(cmd_code(other, "NOOP"), 200)
        self.assert_login_530("wdis", "wdis-pass-1")
        log = self.srv.log_text()
        self.assertIn("wdis: account disabled; closing the session", log)
        self.assertIn("wdel: account deleted; closing the session", log)
