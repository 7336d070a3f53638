"""Shared (virtual) folders (issue 28): a folder beneath shared_root mounted into the trees of the
accounts and groups given it, with its own permissions and a quota of its own counted once for all
who write into it; the mount hides the home's name beneath it and shows in the parent's listing;
no path, "..", link or rename crosses between a folder and a home. Driven with ftplib, curl, lftp
and rclone; the command line's refusals exit 2."""
import ftplib
import os
import shutil
import subprocess
import threading
import time
import unittest

import harness
from harness import MiB, make_bytes, retr_bytes, run, server_command, stor_bytes
from harness_ext import ExtServerTestCase, send_reply, user_cli
from test_lftp import LFTP, SETTINGS

CURL = shutil.which("curl")
RCLONE = shutil.which("rclone")


def folder_cli(srv, *args):
    return run(server_command() + ["--config", srv.config_path, "folder"] + list(args), timeout=60, cwd=srv.tmp)


def group_cli(srv, *args):
    return run(server_command() + ["--config", srv.config_path, "group"] + list(args), timeout=60, cwd=srv.tmp)


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def names(ftp, path=None):
    return sorted(os.path.basename(n.rstrip("/")) for n in (ftp.nlst(path) if path else ftp.nlst()))


@harness.skip_unless_ferryd("shared folders are ferryd's")
class FolderTest(ExtServerTestCase):
    USERS = {
        "alice": "alice-pw-1",
        "bob": "bob-pw-1",
        "auditor": "auditor-pw-1",
        "eve": "eve-pw-1",
        "carol": "carol-pw-1",
    }
    CONFIG = {"accounts_check_interval": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.srv
        cls.shared = os.path.join(srv.tmp, "shared")  # the default: "shared" beside root
        ok(folder_cli(srv, "add", "team", "--quota", "1M"))
        ok(folder_cli(srv, "add", "docs"))
        ok(folder_cli(srv, "add", "limbo"))
        ok(group_cli(srv, "add", "crew"))
        ok(user_cli(srv, "groups", "alice", "crew"))
        ok(user_cli(srv, "groups", "bob", "crew"))
        ok(folder_cli(srv, "grant", "team", "--group", "crew", "--at", "/team"))
        ok(folder_cli(srv, "grant", "team", "--user", "auditor", "--at", "/team", "--perm", "list,download,hash"))
        ok(folder_cli(srv, "grant", "docs", "--user", "alice", "--at", "/projects/docs"))
        # alice's own /team, hidden by the mount; a file outside the folder that links must not reach.
        write(os.path.join(srv.home("alice"), "team", "hidden.txt"), b"home's own")
        write(os.path.join(srv.home("alice"), "secret.txt"), b"alice's secret")
        write(os.path.join(srv.home("eve"), "mine.txt"), b"eve's")

    def folder(self, name, *parts):
        return os.path.join(self.shared, name, *parts)

    # ---- the folder shared, where it lives, how it shows

    def test_two_accounts_share_the_folder(self):
        alice, bob = self.login("alice"), self.login("bob")
        payload = make_bytes(64 * 1024, seed="shared")
        stor_bytes(alice, "/team/plan.bin", payload)
        self.assertEqual(read(self.folder("team", "plan.bin")), payload)
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("alice"), "team", "plan.bin")))
        self.assertEqual(retr_bytes(bob, "/team/plan.bin"), payload)
        bob.cwd("/team")
        self.assertEqual(bob.pwd(), "/team")
        self.assertIn("plan.bin", names(bob))
        self.assertEqual(bob.size("plan.bin"), len(payload))
        self.assertEqual(send_reply(bob, "HASH plan.bin")[:3], "213")
        bob.cwd("..")
        self.assertEqual(bob.pwd(), "/")
        self.assertIn(os.path.join(self.shared, "team", "plan.bin"), self.srv.xferlog_text())

    def test_mount_shows_in_the_parent_and_hides_the_home_name(self):
        ftp = self.login("alice")
        self.assertIn("team", names(ftp, "/"))
        facts = []
        ftp.retrlines("MLSD /", facts.append)
        team = [f for f in facts if f.endswith(" team")]
        self.assertEqual(len(team), 1, facts)
        self.assertIn("type=dir", team[0].lower())
        self.assertNotIn("hidden.txt", names(ftp, "/team"))
        with self.assertRaises(ftplib.error_perm):
            retr_bytes(ftp, "/team/hidden.txt")
        lines = []
        ftp.retrlines("LIST /", lines.append)
        self.assertEqual(len([l for l in lines if l.endswith(" team")]), 1, lines)
        # A folder a deeper mount lies in, which the home lacks, is there to reach it.
        ftp.cwd("/projects")
        self.assertEqual(names(ftp), ["docs"])
        stor_bytes(ftp, "docs/notes.txt", b"deep mount")
        self.assertEqual(read(self.folder("docs", "notes.txt")), b"deep mount")

    def test_accounts_without_a_grant_see_nothing_of_it(self):
        ftp = self.login("eve")
        self.assertNotIn("team", names(ftp, "/"))
        with self.assertRaises(ftplib.error_perm):
            ftp.cwd("/team")
        with self.assertRaises(ftplib.error_perm):
            retr_bytes(ftp, "/team/plan.bin")

    def test_permissions_per_grant(self):
        write(self.folder("team", "report.txt"), b"for the auditor")
        ftp = self.login("auditor")
        self.assertEqual(retr_bytes(ftp, "/team/report.txt"), b"for the auditor")
        with self.assertRaises(ftplib.error_perm) as cm:
            stor_bytes(ftp, "/team/new.txt", b"x")
        self.assertEqual(str(cm.exception), "550 Permission denied: upload or overwrite on /team/new.txt")
        self.assertEqual(send_reply(ftp, "DELE /team/report.txt"), "550 Permission denied: delete on /team/report.txt")
        self.assertFalse(os.path.exists(self.folder("team", "new.txt")))
        # The auditor's own home is as writable as before.
        stor_bytes(ftp, "/own.txt", b"own")
        self.assertEqual(read(os.path.join(self.srv.home("auditor"), "own.txt")), b"own")

    def test_the_mount_point_stays(self):
        ftp = self.login("alice")
        for line in ("RMD /team", "DELE /team", "RNFR /team", "MKD /team", "SITE CHMOD 700 /team"):
            self.assertEqual(send_reply(ftp, line)[:3], "550", line)
        self.assertTrue(os.path.isdir(self.folder("team")))

    # ---- the jail, against a folder

    def test_rename_never_crosses_between_home_and_folder(self):
        ftp = self.login("alice")
        stor_bytes(ftp, "/mine.txt", b"mine")
        stor_bytes(ftp, "/team/theirs.txt", b"theirs")
        for source, target in (("/mine.txt", "/team/mine.txt"), ("/team/theirs.txt", "/theirs.txt"),
                               ("/team/theirs.txt", "/team/../theirs.txt"),
                               ("/team/theirs.txt", "/projects/docs/theirs.txt")):
            self.assertEqual(send_reply(ftp, "RNFR " + source)[:3], "350")
            resp = send_reply(ftp, "RNTO " + target)
            self.assertTrue(resp.startswith("550 Rename failed: source and target are in different folders"), resp)
        self.assertEqual(read(os.path.join(self.srv.home("alice"), "mine.txt")), b"mine")
        self.assertEqual(read(self.folder("team", "theirs.txt")), b"theirs")
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("alice"), "theirs.txt")))
        # Within one folder a rename works, also by a second account.
        bob = self.login("bob")
        bob.rename("/team/theirs.txt", "/team/renamed.txt")
        self.assertEqual(read(self.folder("team", "renamed.txt")), b"theirs")

    def test_dot_dot_and_links_stay_inside_the_folder(self):
        os.makedirs(self.folder("team"), exist_ok=True)
        links = {
            "to-home.txt": os.path.join(self.srv.home("alice"), "secret.txt"),  # absolute, into a home
            "up.txt": "../../homes/alice/secret.txt",                         # relative, up and out
            "passwd": "/etc/passwd",
            "to-eve": os.path.join(self.srv.home("eve")),                      # a folder of another home
        }
        for name, target in links.items():
            path = self.folder("team", name)
            if not os.path.lexists(path):
                os.symlink(target, path)
        ftp = self.login("bob")
        for name in links:
            with self.assertRaises(ftplib.error_perm, msg=name):
                retr_bytes(ftp, "/team/" + name)
        with self.assertRaises(ftplib.error_perm):
            retr_bytes(ftp, "/team/to-eve/mine.txt")
        with self.assertRaises(ftplib.error_perm):
            stor_bytes(ftp, "/team/to-eve/planted.txt", b"x")
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("eve"), "planted.txt")))
        # ".." in the path is the account's own tree: out of the folder is the home, never above it.
        stor_bytes(ftp, "/team/../../../escape.txt", b"in bob's home")
        self.assertEqual(read(os.path.join(self.srv.home("bob"), "escape.txt")), b"in bob's home")
        for encoded in ("/team/%2e%2e/%2e%2e/etc/passwd", "/team/..%2f..%2fetc/passwd", "/team/..\\..\\secret.txt"):
            with self.assertRaises(ftplib.error_perm, msg=encoded):
                retr_bytes(ftp, encoded)
        # A link replaced by a folder between RNFR and RNTO: the rename still stays in the folder.
        stor_bytes(ftp, "/team/race.txt", b"race")
        self.assertEqual(send_reply(ftp, "RNFR /team/race.txt")[:3], "350")
        os.makedirs(self.folder("team", "dest"), exist_ok=True)
        os.rmdir(self.folder("team", "dest"))
        os.symlink(self.srv.home("bob"), self.folder("team", "dest"))
        resp = send_reply(ftp, "RNTO /team/dest/race.txt")
        self.assertEqual(resp[:3], "550", resp)
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("bob"), "race.txt")))
        self.assertEqual(read(self.folder("team", "race.txt")), b"race")

    # ---- one quota for the folder, however many write into it

    def test_folder_quota_is_shared_by_its_writers(self):
        alice, bob = self.login("alice"), self.login("bob")
        for name in os.listdir(self.folder("team")):  # what other tests left counts too: start from a known state
            full = self.folder("team", name)
            if os.path.isfile(full) and not os.path.islink(full):
                alice.delete("/team/" + name)
        stor_bytes(alice, "/team/q1.bin", make_bytes(700 * 1024, seed="q1"))
        with self.assertRaises(ftplib.error_perm) as cm:
            stor_bytes(bob, "/team/q2.bin", make_bytes(700 * 1024, seed="q2"))
        self.assertTrue(str(cm.exception).startswith("552"), str(cm.exception))
        used = sum(os.path.getsize(self.folder("team", n)) for n in ("q1.bin", "q2.bin")
                   if os.path.exists(self.folder("team", n)))
        self.assertLessEqual(used, 1 << 20)
        # The folder's bytes are not the account's: bob's own home still takes a large file.
        stor_bytes(bob, "/big-own.bin", make_bytes(2 * MiB, seed="own"))
        # Deleting frees the folder's quota for everyone.
        alice.delete("/team/q1.bin")
        if os.path.exists(self.folder("team", "q2.bin")):
            bob.delete("/team/q2.bin")
        stor_bytes(bob, "/team/q3.bin", make_bytes(900 * 1024, seed="q3"))
        bob.delete("/team/q3.bin")

    def test_writers_at_once_never_pass_the_folder_quota(self):
        ok(folder_cli(self.srv, "add", "race", "--quota", "2M"))
        ok(folder_cli(self.srv, "grant", "race", "--group", "crew", "--at", "/race"))
        time.sleep(2.5)  # accounts_check_interval
        errors = []

        def upload(user, i):
            try:
                ftp = self.srv.ftp(user)
                try:
                    stor_bytes(ftp, "/race/%s-%d.bin" % (user, i), make_bytes(MiB, seed="%s%d" % (user, i)))
                except ftplib.error_perm as e:
                    errors.append(str(e)[:3])
                ftp.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=upload, args=(u, i)) for u in ("alice", "bob") for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        total = sum(os.path.getsize(os.path.join(self.folder("race"), n)) for n in os.listdir(self.folder("race")))
        self.assertLessEqual(total, 2 * MiB)
        self.assertTrue(all(e == "552" for e in errors), errors)
        self.assertGreaterEqual(len(errors), 2)

    # ---- changes reach running sessions

    def test_grant_and_revoke_reach_a_running_session(self):
        ftp = self.login("carol")
        self.assertNotIn("limbo", names(ftp, "/"))
        ok(folder_cli(self.srv, "grant", "limbo", "--user", "carol", "--at", "/limbo"))
        deadline = time.time() + 10
        while "limbo" not in names(ftp, "/") and time.time() < deadline:
            time.sleep(0.3)
        stor_bytes(ftp, "/limbo/in.txt", b"granted")
        self.assertEqual(read(self.folder("limbo", "in.txt")), b"granted")
        ok(folder_cli(self.srv, "revoke", "limbo", "--user", "carol"))
        deadline = time.time() + 10
        while "limbo" in names(ftp, "/") and time.time() < deadline:
            time.sleep(0.3)
        with self.assertRaises(ftplib.error_perm):
            retr_bytes(ftp, "/limbo/in.txt")

    # ---- other clients

    @unittest.skipIf(CURL is None, "curl not installed (make deps installs it)")
    def test_curl_puts_and_gets_through_the_mount(self):
        url = "ftp://127.0.0.1:%d/team/" % self.srv.port
        local = os.path.join(self.local, "curl.txt")
        with open(local, "wb") as f:
            f.write(b"via curl")
        p = run([CURL, "-s", "-S", "--user", "alice:" + self.srv.passwords["alice"], "-T", local, url + "curl.txt"])
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run([CURL, "-s", "-S", "--user", "bob:" + self.srv.passwords["bob"], url + "curl.txt"])
        self.assertEqual((p.returncode, p.stdout), (0, "via curl"))
        p = run([CURL, "-s", "-S", "--user", "auditor:" + self.srv.passwords["auditor"], "-T", local, url + "curl2.txt"])
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(self.folder("team", "curl2.txt")))

    @unittest.skipIf(LFTP is None, "lftp not installed (make deps installs it)")
    def test_lftp_mirrors_into_the_folder(self):
        src = os.path.join(self.local, "lftp-src")
        for i in range(3):
            write(os.path.join(src, "f%d.txt" % i), b"lftp %d" % i)
        home = os.path.join(self.local, "lftp-home")
        os.makedirs(home, exist_ok=True)
        script = SETTINGS + "open -u bob,%s ftp://127.0.0.1:%d; " % (self.srv.passwords["bob"], self.srv.port)
        p = run([LFTP, "-c", script + "mirror -R lftp-src /team/lftp; cls /"], env=dict(os.environ, HOME=home),
                cwd=self.local, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("/team/", p.stdout.split())
        for i in range(3):
            self.assertEqual(read(self.folder("team", "lftp", "f%d.txt" % i)), b"lftp %d" % i)

    @unittest.skipIf(RCLONE is None, "rclone not installed (make deps installs it)")
    def test_rclone_sees_and_copies_into_the_folder(self):
        obscured = subprocess.run([RCLONE, "obscure", self.srv.passwords["alice"]], capture_output=True, text=True,
                                  check=True).stdout.strip()
        remote = ":ftp,host=127.0.0.1,port=%d,user=alice,pass=%s:" % (self.srv.port, obscured)
        env = dict(os.environ, RCLONE_CONFIG=os.path.join(self.local, "rclone.conf"))
        base = [RCLONE, "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "20s"]
        p = run(base + ["lsf", remote], env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("team/", p.stdout.split())
        src = os.path.join(self.local, "rc-src")
        write(os.path.join(src, "r.txt"), b"rclone")
        p = run(base + ["copy", src, remote + "team/rc"], env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(read(self.folder("team", "rc", "r.txt")), b"rclone")


@harness.skip_unless_ferryd("shared folders are ferryd's")
class FolderCliTest(ExtServerTestCase):
    USERS = {"dana": "dana-pw-1"}

    def test_bad_input_exits_2_and_changes_nothing(self):
        srv = self.srv
        ok(folder_cli(srv, "add", "box"))
        ok(folder_cli(srv, "add", "inner"))
        ok(folder_cli(srv, "grant", "box", "--user", "dana", "--at", "/box"))
        with open(srv.users_file) as f:
            before = f.read()
        for args in (["grant", "nosuch", "--user", "dana", "--at", "/x"],       # a missing folder
                     ["grant", "box", "--user", "nobody", "--at", "/x"],        # a missing account
                     ["grant", "box", "--group", "nogroup", "--at", "/x"],      # a missing group
                     ["grant", "inner", "--user", "dana", "--at", "box"],       # a relative path
                     ["grant", "inner", "--user", "dana", "--at", "/"],         # over the whole home
                     ["grant", "inner", "--user", "dana", "--at", "/box/in"],   # a mount over another mount
                     ["grant", "inner", "--user", "dana", "--at", "/a/../b"],
                     ["grant", "inner", "--user", "dana", "--at", "/i", "--perm", "write"],
                     ["grant", "inner", "--at", "/i"],                          # nobody to grant it to
                     ["add", "bad/name"], ["add", "x", "--quota", "lots"], ["add", "box"],
                     ["quota", "nosuch", "1M"], ["quota", "box", "-1"],
                     ["revoke", "inner", "--user", "dana"], ["del", "nosuch"], ["frobnicate"]):
            p = folder_cli(srv, *args)
            self.assertIn(p.returncode, (1, 2) if args == ["add", "box"] else (2,), (args, p.stdout, p.stderr))
            self.assertTrue(p.stderr.startswith("ferryd folder:"), (args, p.stderr))
        with open(srv.users_file) as f:
            self.assertEqual(f.read(), before)

    def test_list_quota_and_del(self):
        srv = self.srv
        ok(folder_cli(srv, "add", "pub", "--quota", "500M"))
        ok(folder_cli(srv, "grant", "pub", "--user", "dana", "--at", "/pub", "--perm", "list,download"))
        p = ok(folder_cli(srv, "list"))
        self.assertIn("pub  quota 500.0 MiB, granted to: user dana", p.stdout)
        ok(folder_cli(srv, "quota", "pub", "2G"))
        self.assertIn("pub  quota 2.0 GiB", ok(folder_cli(srv, "list")).stdout)
        p = ok(user_cli(srv, "show", "dana"))
        self.assertIn("/pub = list,download   (dana, folder pub)", p.stdout)
        p = ok(folder_cli(srv, "del", "pub"))
        self.assertIn("its files stay in", p.stdout)
        self.assertNotIn("pub", ok(user_cli(srv, "show", "dana")).stdout)

    def test_shared_root_inside_root_is_refused(self):
        cfg = os.path.join(self.srv.tmp, "nested.toml")
        with open(cfg, "w") as f:
            f.write('root = "%s"\nshared_root = "%s"\n' % (self.srv.root, os.path.join(self.srv.root, "shared")))
        p = run(server_command() + ["--config", cfg, "folder", "list"], cwd=self.srv.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("shared_root", p.stderr)


if __name__ == "__main__":
    unittest.main()
