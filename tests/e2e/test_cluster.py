"""Several nodes, one set of users: two ferryd nodes with their accounts and quotas in a real
PostgreSQL (initdb in a temp folder) and one homes folder, behind a real HAProxy (TCP mode,
send-proxy-v2). Accounts reach every node within a second; quotas are exact across nodes, also
when a node is killed mid-upload; a database outage gives clean refusals and loses nothing."""
import ftplib
import io
import os
import shutil
import tempfile
import threading
import time
import unittest

from harness import TIMEOUT, FerryServer, ftp_from, open_data, quit_quietly, retr_bytes, skip_on_windows
from harness_ext import stor_try, user_cli
from cluster import HAProxy, PostgreSQL, postgresql_available

BALANCER = "127.0.0.20"
CLIENT = "127.0.0.3"  # the clients' address, unless a test names another
MiB = 1 << 20


def eventually(check, within, what):
    """check() until it returns true, for at most `within` seconds; returns the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except (ftplib.Error, OSError, EOFError):
            pass
        if time.monotonic() - started > within:
            raise AssertionError("%s: not within %.1f s" % (what, within))
        time.sleep(0.02)


def can_login(port, user, password):
    ftp = ftp_from(CLIENT, port)
    try:
        ftp.login(user, password)
        return True
    except ftplib.error_perm:
        return False
    finally:
        quit_quietly(ftp)


def file_sizes(folder):
    return sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))


def node_config(pg, root, name, **extra):
    # Shared folders beside the homes, in the test's own temporary folder (its default would be the parent's).
    config = {"accounts": "postgresql", "postgresql": pg.conninfo, "root": root, "shared_root": root + "-shared", "node_name": name,
              "reservation_ttl": 5, "quota_wait": 1000, "proxy_protocol": True, "proxy_trusted": [BALANCER]}
    config.update(extra)
    return config


def upload_at_once(sessions, size):
    """part<i>.bin of `size` random bytes through each session at the same time: their replies."""
    replies = [None] * len(sessions)

    def upload(i):
        replies[i] = stor_try(sessions[i], "part%d.bin" % i, os.urandom(size))[0]
    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    return replies


def stored_usage(pg, user):
    return int(pg.psql("SELECT used FROM ferry_accounts WHERE name = '%s'" % user))


@skip_on_windows("the PostgreSQL store and the PROXY protocol are Linux-only")
@unittest.skipUnless(postgresql_available() and shutil.which("haproxy"),
                     "postgresql or haproxy is not installed (make deps installs them)")
class TwoNodesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PostgreSQL()
        cls.addClassCleanup(cls.pg.cleanup)
        cls.root = tempfile.mkdtemp(prefix="ferry-e2e-shared-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.addClassCleanup(shutil.rmtree, cls.root + "-shared", True)
        limits = {"max_sessions_per_user": 30, "ban_threshold": 6}
        cls.a = FerryServer(config=node_config(cls.pg, cls.root, "a", **limits))
        cls.addClassCleanup(cls.a.cleanup)
        cls.addClassCleanup(cls.a.stop)
        cls.b = FerryServer(config=node_config(cls.pg, cls.root, "b", **limits))
        cls.addClassCleanup(cls.b.cleanup)
        cls.addClassCleanup(cls.b.stop)
        send = "send-proxy-v2 source " + BALANCER
        nodes = ["127.0.0.1:%d" % cls.a.port, "127.0.0.1:%d" % cls.b.port]
        cls.lb = HAProxy({"a": (nodes[:1], send), "b": (nodes[1:], send), "both": (nodes, send)})
        cls.addClassCleanup(cls.lb.stop)

    def add(self, name, password, *options, wait=True):
        """`ferryd user add` (on node a's config); then, unless told not to, waits until both nodes
        know the account (a notification away) and no session of it is counted any more."""
        p = user_cli(self.a, "add", name, "--password-stdin", *options, input=password + "\n")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        if not wait:
            return
        for node in ("a", "b"):
            eventually(lambda: can_login(self.lb.port(node), name, password), 1.0, name + " known on node " + node)
        eventually(lambda: self.pg.psql("SELECT coalesce(sum(count), 0) FROM ferry_sessions WHERE account = '%s'" % name)
                   == "0", 2.0, "no session of " + name + " counted")

    def login(self, node, user, password, source=CLIENT):
        ftp = ftp_from(source, self.lb.port(node), user, password)
        self.addCleanup(quit_quietly, ftp)
        return ftp

    def test_the_schema_is_made_by_the_first_command_and_migrate_is_idempotent(self):
        self.assertEqual(self.pg.psql("SELECT max(version) FROM ferry_schema"), "3")
        p = harness_run(self.a, "db", "migrate")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("schema version 3: up to date", p.stdout)

    def test_the_access_policy_lives_in_the_database_and_reaches_running_sessions_on_every_node(self):
        self.add("gina", "gina-pw-123")
        running = self.login("b", "gina", "gina-pw-123")
        stor_try(running, "before.txt", b"1")
        for args in (("group", "add", "readers"), ("group", "perm", "readers", "/", "list,download"),
                     ("user", "groups", "gina", "readers")):
            p = harness_run(self.a, *args)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        def refused():
            try:
                running.storbinary("STOR after.txt", io.BytesIO(b"2"))
                return False
            except ftplib.error_perm as e:
                return str(e) == "550 Permission denied: upload or overwrite on /after.txt"
        eventually(refused, 2.0, "the group's rule reaches gina's session on b")
        self.assertIn("/ = list,download   (group readers)", harness_run(self.b, "user", "show", "gina").stdout)
        self.assertIn("readers  members 1", harness_run(self.b, "group", "list").stdout)
        # Networks and expiry from the database, at login on the other node.
        self.assertEqual(harness_run(self.b, "user", "networks", "gina", "--deny", CLIENT).returncode, 0)
        eventually(lambda: not can_login(self.lb.port("a"), "gina", "gina-pw-123"), 1.0, "gina's address refused on a")
        self.assertEqual(harness_run(self.b, "user", "networks", "gina", "--deny", "").returncode, 0)
        self.assertEqual(harness_run(self.b, "user", "expire", "gina", "2020-01-01").returncode, 0)

        def expired():
            try:
                ftp_from(CLIENT, self.lb.port("a"), "gina", "gina-pw-123")
                return False
            except ftplib.error_perm as e:
                return str(e) == "530 Account expired."
        eventually(expired, 1.0, "gina expired on a")

    def test_a_user_added_on_one_node_logs_in_on_the_other_at_once(self):
        self.add("dave", "dave-pw-123", wait=False)
        took = eventually(lambda: can_login(self.lb.port("b"), "dave", "dave-pw-123"), 1.0, "dave on node b")
        self.assertLess(took, 1.0)
        # And over FTP: an admin's SITE ADDUSER on b, a login on a.
        self.add("root-admin", "admin-pw-123", "--admin")
        admin = self.login("b", "root-admin", "admin-pw-123")
        self.assertTrue(admin.sendcmd("SITE ADDUSER fred fred-pw-123").startswith("200"))  # on b
        eventually(lambda: can_login(self.lb.port("a"), "fred", "fred-pw-123"), 1.0, "fred on node a")
        listing = user_cli(self.b, "list").stdout
        self.assertIn("dave", listing)
        self.assertIn("fred", listing)

    def test_a_password_change_and_a_disable_reach_the_other_node_within_a_second(self):
        self.add("erin", "erin-pw-old")
        running = self.login("b", "erin", "erin-pw-old")
        p = user_cli(self.a, "passwd", "erin", "--password-stdin", input="erin-pw-new\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        eventually(lambda: not can_login(self.lb.port("b"), "erin", "erin-pw-old"), 1.0, "old password refused on b")
        self.assertTrue(can_login(self.lb.port("b"), "erin", "erin-pw-new"))
        self.assertTrue(running.voidcmd("NOOP").startswith("200"))  # a new password does not end sessions
        p = user_cli(self.a, "disable", "erin")
        self.assertEqual(p.returncode, 0, p.stderr)

        def closed():
            try:
                running.voidcmd("NOOP")
                return False
            except ftplib.error_temp as e:
                return str(e).startswith("421")
        eventually(closed, 1.0, "erin's session on b closed")
        self.assertIn("erin: account disabled; closing the session", self.b.log_text())
        eventually(lambda: not can_login(self.lb.port("a"), "erin", "erin-pw-new"), 1.0, "erin refused on a")

    def test_two_uploads_one_through_each_node_stop_exactly_at_the_quota(self):
        self.add("quinn", "quinn-pw-1", "--quota", "8M")
        sessions = [self.login("a", "quinn", "quinn-pw-1"), self.login("b", "quinn", "quinn-pw-1")]
        replies = upload_at_once(sessions, 6 * MiB)
        self.assertTrue(any(r.startswith("552") for r in replies), replies)
        self.assertEqual(file_sizes(os.path.join(self.root, "quinn")), 8 * MiB)
        eventually(lambda: stored_usage(self.pg, "quinn") == 8 * MiB, 2.0, "stored usage = 8 MiB")
        self.assertEqual(self.pg.psql("SELECT count(*) FROM ferry_reservations WHERE account = 'quinn'"), "0")

    def test_a_shared_folder_quota_holds_for_two_accounts_on_two_nodes(self):
        self.add("fay", "fay-pw-123")
        self.add("finn", "finn-pw-123")
        for args in (("folder", "add", "crate", "--quota", "8M"), ("folder", "grant", "crate", "--user", "fay", "--at", "/crate"),
                     ("folder", "grant", "crate", "--user", "finn", "--at", "/crate", "--perm", "list,upload,overwrite")):
            p = harness_run(self.a, *args)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        sessions = [self.login("a", "fay", "fay-pw-123"), self.login("b", "finn", "finn-pw-123")]

        def mounted(ftp):
            try:
                ftp.cwd("/crate")
                return True
            except ftplib.error_perm:
                return False
        for ftp in sessions:
            eventually(lambda: mounted(ftp), 2.0, "the folder mounted on both nodes")
        replies = upload_at_once(sessions, 6 * MiB)
        self.assertTrue(any(r.startswith("552") for r in replies), replies)
        self.assertEqual(file_sizes(os.path.join(self.root + "-shared", "crate")), 8 * MiB)
        eventually(lambda: self.pg.psql("SELECT used FROM ferry_folders WHERE name = 'crate'") == str(8 * MiB), 2.0,
                   "the folder's stored usage = 8 MiB")
        self.assertEqual(self.pg.psql("SELECT count(*) FROM ferry_reservations WHERE folder = 'crate'"), "0")
        # Neither account's own usage moved: the bytes are the folder's.
        self.assertEqual(stored_usage(self.pg, "fay"), 0)
        self.assertEqual(stored_usage(self.pg, "finn"), 0)
        # finn may not delete; fay may, and that frees the folder for both.
        self.assertEqual(sessions[1].sendcmd("NOOP")[:3], "200")
        with self.assertRaises(ftplib.error_perm):
            sessions[1].delete("part0.bin")
        for name in ("part0.bin", "part1.bin"):
            sessions[0].delete(name)
        eventually(lambda: self.pg.psql("SELECT used FROM ferry_folders WHERE name = 'crate'") == "0", 2.0, "freed")

    def test_twenty_parallel_uploads_across_both_nodes_stop_exactly_at_the_quota(self):
        self.add("pat", "pat-pw-123", "--quota", "10M")
        self.assertTrue(can_login(self.lb.port("a"), "pat", "pat-pw-123"))  # measure the home once
        replies = []
        lock = threading.Lock()

        def upload(i):
            ftp = ftp_from("127.0.0.%d" % (30 + i), self.lb.port("a" if i % 2 else "b"), "pat", "pat-pw-123")
            try:
                r = stor_try(ftp, "f%02d.bin" % i, os.urandom(MiB + 1234))[0]
            finally:
                quit_quietly(ftp)
            with lock:
                replies.append(r)
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(3 * TIMEOUT)
        self.assertEqual(len(replies), 20)
        self.assertTrue(all(r.startswith("226") or r.startswith("552") for r in replies), replies)
        self.assertTrue(any(r.startswith("552") for r in replies))
        self.assertEqual(file_sizes(os.path.join(self.root, "pat")), 10 * MiB)
        eventually(lambda: stored_usage(self.pg, "pat") == 10 * MiB, 2.0, "stored usage = 10 MiB")

    def test_a_node_killed_mid_upload_loses_its_reservation_and_the_user_resumes_elsewhere(self):
        self.add("kim", "kim-pw-123", "--quota", "6M")
        c = FerryServer(config=node_config(self.pg, self.root, "c", proxy_protocol=False, proxy_trusted=[]))
        try:
            ftp = ftplib.FTP(timeout=TIMEOUT)
            ftp.connect(c.host, c.port)
            ftp.login("kim", "kim-pw-123")
            ftp.voidcmd("TYPE I")
            conn, _ = open_data(ftp, "pasv", "STOR k.bin")
            data = os.urandom(3 * MiB)
            conn.sendall(data[:MiB])
            path = os.path.join(self.root, "kim", "k.bin")
            eventually(lambda: os.path.getsize(path) == MiB, 5.0, "1 MiB on disk")
            self.assertEqual(self.pg.psql("SELECT node, bytes FROM ferry_reservations WHERE account = 'kim'"), "c|%d" % (4 * MiB))
            c.proc.kill()  # kill -9: no settle, no release
            c.proc.wait(10)
            conn.close()
        finally:
            c.cleanup()
        # Until it expires the dead node's reservation counts: only 2 MiB are left for node b.
        other = self.login("b", "kim", "kim-pw-123")
        reply, _ = stor_try(other, "filler.bin", os.urandom(4 * MiB))
        self.assertTrue(reply.startswith("552"), reply)
        self.assertEqual(os.path.getsize(os.path.join(self.root, "kim", "filler.bin")), 2 * MiB)
        other.delete("filler.bin")
        # After reservation_ttl (5 s) nothing of node c is left; the user resumes on node b.
        eventually(lambda: self.pg.psql("SELECT count(*) FROM ferry_reservations WHERE account = 'kim' "
                                        "AND expires > now()") == "0", 10.0, "the reservation expired")
        p = user_cli(self.b, "rescan", "kim")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(stored_usage(self.pg, "kim"), MiB)
        reply, _ = stor_try(other, "k.bin", data[MiB:], rest=MiB)
        self.assertTrue(reply.startswith("226"), reply)
        self.assertEqual(retr_bytes(other, "k.bin"), data)
        eventually(lambda: stored_usage(self.pg, "kim") == 3 * MiB, 2.0, "stored usage = 3 MiB")

    def test_sessions_per_user_count_across_nodes(self):
        self.add("sam", "sam-pw-123")
        sessions = [self.login("a" if i % 2 else "b", "sam", "sam-pw-123", "127.0.0.%d" % (60 + i)) for i in range(30)]
        for node in ("a", "b"):
            extra = ftp_from("127.0.0.59", self.lb.port(node))
            with self.assertRaises(ftplib.error_perm) as refused:
                extra.login("sam", "sam-pw-123")
            self.assertIn("530 Too many sessions of this user (at most 30)", str(refused.exception))
            quit_quietly(extra)
        self.assertEqual(self.pg.psql("SELECT sum(count) FROM ferry_sessions WHERE account = 'sam'"), "30")
        sessions[0].quit()  # a place on node b is free, and node a may take it
        eventually(lambda: can_login(self.lb.port("a"), "sam", "sam-pw-123"), 2.0, "a place again")

    def test_failed_logins_count_and_ban_across_nodes(self):
        self.add("tess", "tess-pw-123")
        for node in ("a", "b", "a", "b", "a", "b"):  # 3 + 3: neither node alone reaches ban_threshold 6
            ftp = ftp_from("127.0.0.50", self.lb.port(node))
            with self.assertRaises(ftplib.Error):
                ftp.login("tess", "wrong")
            quit_quietly(ftp)

        def refused_at_connect(node):
            try:
                quit_quietly(ftp_from("127.0.0.50", self.lb.port(node)))
                return False
            except ftplib.error_temp as e:
                return str(e).startswith("421")
        for node, srv in (("a", self.a), ("b", self.b)):
            eventually(lambda: refused_at_connect(node), 2.0, "127.0.0.50 banned on node " + node)
            self.assertRegex(srv.log_text(), r"defender: banned 127\.0\.0\.50 until")
        self.assertIn("failed logins on other nodes counted", self.a.log_text())
        self.assertTrue(can_login(self.lb.port("a"), "tess", "tess-pw-123"))  # from 127.0.0.3: not banned

    def test_through_the_balancer_both_nodes_serve_and_see_the_client(self):
        self.add("lee", "lee-pw-123")
        for _ in range(4):
            ftp = ftp_from("127.0.0.9", self.lb.port("both"), "lee", "lee-pw-123")
            self.assertTrue(ftp.storbinary("STOR lb.txt", io.BytesIO(b"x" * 1000)).startswith("226"))
            quit_quietly(ftp)
        for node in (self.a, self.b):
            self.assertRegex(node.log_text(), r"session \d+ 127\.0\.0\.9 lee logged in")


def harness_run(srv, *args):
    import harness
    return harness.run(harness.server_command() + ["--config", srv.config_path] + list(args), cwd=srv.tmp)


@skip_on_windows("the PostgreSQL store is Linux-only")
@unittest.skipUnless(postgresql_available(), "postgresql is not installed (make deps installs it)")
class DatabaseOutageTest(unittest.TestCase):
    """PostgreSQL stopped and started again under a small load: logins get 421 and uploads 451, with
    a log line; a download in progress goes on; the node reconnects by itself; nothing is counted
    that was not written."""

    def test_outage(self):
        pg = PostgreSQL()
        self.addCleanup(pg.cleanup)
        root = tempfile.mkdtemp(prefix="ferry-e2e-outage-")
        self.addCleanup(shutil.rmtree, root, True)
        srv = FerryServer(config=node_config(pg, root, "solo", proxy_protocol=False, proxy_trusted=[]),
                          users={"olga": "olga-pw-123"})
        self.addCleanup(srv.cleanup)
        big = os.urandom(32 * MiB)
        ftp = srv.ftp("olga")
        self.addCleanup(quit_quietly, ftp)
        self.assertTrue(stor_try(ftp, "big.bin", big)[0].startswith("226"))
        # A slow download that spans the outage.
        downloader = srv.ftp("olga")
        self.addCleanup(quit_quietly, downloader)
        downloader.voidcmd("TYPE I")
        conn, _ = open_data(downloader, "pasv", "RETR big.bin")
        first = conn.recv(MiB)
        load = Load(srv)
        self.addCleanup(load.stop)
        time.sleep(0.5)

        pg.stop()
        eventually(lambda: self._refused(srv), 5.0, "logins refused with 421")
        reply, _ = stor_try(ftp, "during.bin", os.urandom(MiB))
        self.assertTrue(reply.startswith("451"), reply)
        got = bytearray(first)
        while True:
            chunk = conn.recv(MiB)
            if not chunk:
                break
            got += chunk
        conn.close()
        self.assertTrue(downloader.voidresp().startswith("226"))
        self.assertEqual(bytes(got), big)
        log = srv.log_text()
        self.assertIn("postgresql: lost the connection", log)
        self.assertIn("login of olga refused: the accounts store (postgresql) cannot be reached", log)

        time.sleep(1)
        pg.start()
        eventually(lambda: can_login(srv.port, "olga", "olga-pw-123"), 10.0, "logins again")
        time.sleep(1)
        load.stop()
        self.assertGreater(load.done, 0)
        self.assertEqual(load.unexpected, [], "replies other than 2xx, 421 and 451 under the outage")
        self.assertTrue(load.refused, "the load saw no refusal during the outage")
        self.assertIn("postgresql: connected again", srv.log_text())
        again = srv.ftp("olga")
        self.addCleanup(quit_quietly, again)
        self.assertTrue(stor_try(again, "after.bin", os.urandom(MiB))[0].startswith("226"))
        # Nothing counted that is not on disk, nothing on disk that is not counted.
        eventually(lambda: stored_usage(pg, "olga") == file_sizes(os.path.join(root, "olga")), 3.0,
                   "stored usage = what is on disk")
        self.assertTrue(srv.alive())
        srv.stop()

    @staticmethod
    def _refused(srv):
        ftp = srv.connect()
        try:
            ftp.login("olga", "olga-pw-123")
            return False
        except ftplib.error_temp as e:
            return str(e).startswith("421 Account database unavailable")
        finally:
            quit_quietly(ftp)


class Load:
    """Three clients logging in, downloading and uploading small files in a loop until stop():
    counts what they completed, and keeps every reply that is neither a success nor one of the
    clean refusals of an outage (421 at login, 451 for an upload)."""

    def __init__(self, srv):
        self.srv, self.done, self.refused, self.unexpected = srv, 0, [], []
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(3)]
        for t in self.threads:
            t.start()

    def _run(self, i):
        while not self._stop.is_set():
            ftp = None
            try:
                ftp = self.srv.ftp("olga")
                ftp.storbinary("STOR load%d.bin" % i, io.BytesIO(os.urandom(64 * 1024)))
                ftp.retrbinary("RETR load%d.bin" % i, lambda b: None)
                self.done += 1
            except (ftplib.error_temp, ftplib.error_perm) as e:
                (self.refused if str(e)[:3] in ("421", "451") else self.unexpected).append(str(e))
            except (OSError, EOFError):
                pass  # the connection a 421 closed
            finally:
                if ftp:
                    quit_quietly(ftp)
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(TIMEOUT)


if __name__ == "__main__":
    unittest.main()
