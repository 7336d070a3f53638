"""run_as and Landlock on the real server: started as root, ferryd binds, then runs as `nobody`
with no way back to root and no supplementary groups, under a Landlock ruleset, and still serves
everything; a folder that user cannot write stops the start with its name."""
import os
import pwd
import unittest

import harness
from harness import FerryServer, ServerTestCase, make_bytes, retr_bytes, skip_unless_ferryd, stor_bytes
from harness_ext import user_cli

NOBODY = pwd.getpwnam("nobody")


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def give_to_nobody(*paths):
    for path in paths:
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)


@unittest.skipUnless(os.geteuid() == 0, "run_as needs a start as root")
@skip_unless_ferryd()
@harness.skip_on_windows("run_as drops root with setuid; a Windows service runs under the account it was installed with")
class RunAsTests(ServerTestCase):
    USERS = {}

    def server(self, **config):
        srv = FerryServer(config=dict({"run_as": "nobody:nogroup", "landlock": "required"}, **config), users={},
                          start=False)
        self.addCleanup(srv.cleanup)
        os.chmod(srv.tmp, 0o755)  # mkdtemp's 0700 would keep nobody out of everything
        return srv

    def test_serves_as_nobody_without_a_way_back(self):
        srv = self.server()
        give_to_nobody(srv.root, srv.tmp)
        p = user_cli(srv, "add", "alice", "--password-stdin", input="alice-pw-12\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        # `ferryd user add` as root hands the home and the accounts file to the run_as user
        self.assertEqual(os.stat(srv.home("alice")).st_uid, NOBODY.pw_uid)
        self.assertEqual(os.stat(srv.users_file).st_uid, NOBODY.pw_uid)
        self.assertEqual(os.stat(srv.users_file).st_mode & 0o777, 0o600)
        srv.start()
        status = proc_status(srv.proc.pid)
        self.assertEqual(status["Uid"].split(), [str(NOBODY.pw_uid)] * 4)
        self.assertEqual(status["Gid"].split(), [str(NOBODY.pw_gid)] * 4)
        self.assertEqual(status["Groups"].strip(), "")
        self.assertEqual(status["NoNewPrivs"].strip(), "1")  # set for Landlock
        log = srv.log_text()
        self.assertIn("run_as: now running as nobody", log)
        self.assertIn("landlock: ABI ", log)
        ftp = srv.ftp("alice", "alice-pw-12")
        data = make_bytes(300000, "run-as")
        stor_bytes(ftp, "up.bin", data)
        self.assertEqual(retr_bytes(ftp, "up.bin"), data)
        self.assertEqual(os.stat(os.path.join(srv.home("alice"), "up.bin")).st_uid, NOBODY.pw_uid)
        ftp.mkd("sub")
        ftp.rename("up.bin", "sub/moved.bin")
        self.assertTrue(ftp.sendcmd("SITE PASSWD alice-pw-34").startswith("200"))  # rewrites users_file
        ftp.quit()
        srv.ftp("alice", "alice-pw-34").quit()
        self.assertEqual(srv.stop(), 0)

    def test_a_folder_the_user_cannot_write_stops_the_start(self):
        srv = self.server()
        give_to_nobody(srv.tmp)  # but not root (homes), which stays root's 0755
        os.chmod(srv.root, 0o755)
        with self.assertRaises(AssertionError):
            srv.start(wait=5)
        self.assertIn("root: ferryd (uid %d) cannot write the folder %s" % (NOBODY.pw_uid, srv.root), srv.log_text())
        self.assertNotEqual(srv.proc.returncode, 0)

    def test_an_unknown_user_is_a_config_error(self):
        srv = self.server(run_as="no-such-user-here")
        with self.assertRaises(AssertionError):
            srv.start(wait=5)
        self.assertIn('run_as: no user "no-such-user-here"', srv.log_text())
        self.assertEqual(srv.proc.returncode, 2)


@skip_unless_ferryd()
class LandlockOffTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = {"landlock": "off"}

    def test_off_is_logged(self):
        self.assertIn('landlock: off (landlock = "off")', self.srv.log_text())
        self.login("alice").voidcmd("NOOP")
