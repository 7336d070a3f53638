"""The brute-force defender against real connections: a guessing address is banned (421 at
connect, no password work), others are not; `ferryd ban list|remove`; trusted networks; an account
guessed at from many addresses is locked except for the addresses its owner used; bans survive a
restart. 127.0.0.2 and up stand for other hosts."""
import ftplib
import socket
import time

from harness import HOST, TIMEOUT, FerryServer, ServerTestCase, ftp_from, run, server_command, skip_unless_ferryd

DEFENDER = {"ban_threshold": 4, "ban_window": 600, "ban_time": 600, "account_lock_threshold": 0,
            "login_fail_delay_ms": 0, "max_login_failures": 100, "accounts_check_interval": 1}


def user_cli_ban(srv, *args):
    """`ferryd --config CFG ban ARGS...`"""
    return run(server_command() + ["--config", srv.config_path, "ban"] + list(args), cwd=srv.tmp)


def guess(ftp, user="alice", password="not-the-password"):
    """One wrong password; returns the reply code (530, or 421 when the session was closed)."""
    ftp.putcmd("USER " + user)
    ftp.getmultiline()
    ftp.putcmd("PASS " + password)
    return int(ftp.getmultiline()[:3])


def greeting_code(srv, source):
    s = socket.create_connection((HOST, srv.port), timeout=TIMEOUT, source_address=(source, 0))
    try:
        return int(s.makefile("rb").readline()[:3])
    finally:
        s.close()


@skip_unless_ferryd()
class DefenderTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = DEFENDER

    def test_a_guessing_address_is_banned_and_others_are_not(self):
        ftp = ftp_from("127.0.0.11", self.srv.port)
        codes = [guess(ftp) for _ in range(4)]
        self.assertEqual(codes, [530, 530, 530, 421])
        self.assertEqual(greeting_code(self.srv, "127.0.0.11"), 421)  # at connect, before anything else
        log = self.srv.log_text()
        self.assertIn('defender: failed login from 127.0.0.11 for user "alice" (1 in 600 s)', log)
        self.assertIn("defender: banned 127.0.0.11 until ", log)
        self.assertIn("defender: refused connection from 127.0.0.11", log)
        # another address logs in at once
        started = time.monotonic()
        ftp_from("127.0.0.12", self.srv.port, "alice", "alice-pw-1").quit()
        self.assertLess(time.monotonic() - started, 3)
        # ferryd ban list shows it; remove lifts it within the check interval
        listed = user_cli_ban(self.srv, "list")
        self.assertIn("127.0.0.11  until ", listed.stdout)
        removed = user_cli_ban(self.srv, "remove", "127.0.0.11")
        self.assertEqual(removed.returncode, 0, removed.stderr)
        deadline = time.monotonic() + 10
        while greeting_code(self.srv, "127.0.0.11") != 220:
            self.assertLess(time.monotonic(), deadline, "the ban was not lifted")
            time.sleep(0.2)
        self.assertEqual(user_cli_ban(self.srv, "remove", "127.0.0.11").returncode, 1)

    def test_sibling_connections_are_closed_after_the_ban(self):
        conns = [ftp_from("127.0.0.13", self.srv.port) for _ in range(3)]
        guess(conns[0])
        guess(conns[1])
        guess(conns[2])
        self.assertEqual(guess(conns[0]), 421)  # the ban
        # the other open connections get no further guess
        self.assertEqual(guess(conns[1]), 421)


@skip_unless_ferryd()
class TrustedNetworkTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = dict(DEFENDER, trusted_networks=["127.0.0.20/31"])

    def test_trusted_addresses_are_never_banned(self):
        ftp = ftp_from("127.0.0.21", self.srv.port)
        self.assertEqual([guess(ftp) for _ in range(8)], [530] * 8)
        self.assertEqual(greeting_code(self.srv, "127.0.0.21"), 220)
        ftp = ftp_from("127.0.0.22", self.srv.port)  # outside the /31
        self.assertEqual([guess(ftp) for _ in range(4)][-1], 421)


@skip_unless_ferryd()
class AccountLockTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1", "bob": "bob-pw-12"}
    CONFIG = dict(DEFENDER, ban_threshold=1000, account_lock_threshold=6)

    def test_a_distributed_guesser_locks_the_account_but_not_its_owner(self):
        ftp_from("127.0.0.30", self.srv.port, "alice", "alice-pw-1").quit()  # alice's own place
        for i in range(6):
            ftp = ftp_from("127.0.0.%d" % (31 + i), self.srv.port)
            self.assertEqual(guess(ftp), 530)
            ftp.close()
        self.assertIn('defender: locked account "alice"', self.srv.log_text())
        # the right password from a new address is refused too, without an argon2id check
        with self.assertRaises(ftplib.error_perm):
            ftp_from("127.0.0.40", self.srv.port, "alice", "alice-pw-1")
        self.assertIn("account locked by the defender", self.srv.log_text())
        ftp_from("127.0.0.30", self.srv.port, "alice", "alice-pw-1").quit()  # the owner still gets in
        ftp_from("127.0.0.40", self.srv.port, "bob", "bob-pw-12").quit()     # other accounts are unaffected


@skip_unless_ferryd()
class BansSurviveRestartTests(ServerTestCase):
    USERS = {}

    def test_a_ban_survives_a_restart(self):
        srv = FerryServer(config=DEFENDER, users={"alice": "alice-pw-1"})
        self.addCleanup(srv.cleanup)
        ftp = ftp_from("127.0.0.50", srv.port)
        for _ in range(4):
            guess(ftp)
        deadline = time.monotonic() + 5
        while "127.0.0.50" not in user_cli_ban(srv, "list").stdout:
            self.assertLess(time.monotonic(), deadline, "the ban never reached bans_file")
            time.sleep(0.1)
        srv.stop()
        srv.start()
        self.assertEqual(greeting_code(srv, "127.0.0.50"), 421)
        self.assertEqual(greeting_code(srv, "127.0.0.51"), 220)
        srv.stop()
