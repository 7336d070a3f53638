"""Many sessions at once, several users at once, and the per-IP session limit."""
import ftplib
import os
import threading
import time
import traceback
import unittest

import harness
from harness import FerryServer, ServerTestCase, make_bytes, quit_quietly, retr_bytes, sha256_bytes, stor_bytes

CLIENTS = 50


def _where(e):
    tb = traceback.extract_tb(e.__traceback__)
    return " <- ".join("%s:%d" % (os.path.basename(f.filename), f.lineno) for f in tb[-3:][::-1])
DEADLINE = 120  # seconds for all 50 sessions together


class ConcurrencyTest(ServerTestCase):
    USERS = {"u0": "password-u0", "u1": "password-u1", "u2": "password-u2", "u3": "password-u3", "u4": "password-u4"}

    def test_fifty_clients_at_once(self):
        users = sorted(self.USERS)
        barrier = threading.Barrier(CLIENTS, timeout=60)
        errors = []
        done = []
        lock = threading.Lock()

        def client(i):
            user = users[i % len(users)]
            size = 256 * 1024 + (i * 15731) % (768 * 1024)  # 256 KiB .. 1 MiB
            data = make_bytes(size, "client%d" % i)
            ftp = None
            try:
                ftp = ftplib.FTP(timeout=30)
                ftp.connect(self.srv.host, self.srv.port)
                ftp.login(user, self.USERS[user])
                barrier.wait()
                folder = "c%02d" % i
                ftp.mkd(folder)
                ftp.cwd(folder)
                stor_bytes(ftp, "data.bin", data, mode=("pasv", "epsv", "port", "eprt")[i % 4])
                got = retr_bytes(ftp, "data.bin", mode=("pasv", "epsv", "port", "eprt")[(i + 1) % 4])
                if sha256_bytes(got) != sha256_bytes(data):
                    raise AssertionError("client %d: downloaded %d bytes differ from %d uploaded"
                                         % (i, len(got), size))
                if ftp.size("data.bin") != size:
                    raise AssertionError("client %d: SIZE mismatch" % i)
                ftp.quit()
                with lock:
                    done.append((i, user, folder, data))
            except BaseException as e:  # noqa: B902 - report everything
                with lock:
                    errors.append("client %d (%s): %r at %s" % (i, user, e, _where(e)))
                try:
                    barrier.abort()
                except Exception:
                    pass
            finally:
                if ftp is not None:
                    quit_quietly(ftp)

        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.1, DEADLINE - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        hung = [t for t in threads if t.is_alive()]
        self.assertFalse(hung, "%d clients still running after %ds" % (len(hung), DEADLINE))
        self.assertEqual(errors, [], "\n".join(errors[:10]))
        self.assertEqual(len(done), CLIENTS)
        # and on disk, each in its own user's home
        for i, user, folder, data in done:
            with open(os.path.join(self.srv.home(user), folder, "data.bin"), "rb") as f:
                self.assertEqual(sha256_bytes(f.read()), sha256_bytes(data), "client %d on disk" % i)
        self.assertLess(elapsed, DEADLINE)
        self.assert_server_alive()

    def test_two_users_simultaneously(self):
        a = self.login("u0")
        b = self.login("u1")
        stor_bytes(a, "mine_u0.txt", b"u0 data")
        stor_bytes(b, "mine_u1.txt", b"u1 data")
        # interleave commands on both sessions
        self.assertEqual(retr_bytes(a, "mine_u0.txt"), b"u0 data")
        self.assertEqual(retr_bytes(b, "mine_u1.txt"), b"u1 data")
        self.assertNotIn("mine_u1.txt", [os.path.basename(n) for n in a.nlst()])
        self.assertNotIn("mine_u0.txt", [os.path.basename(n) for n in b.nlst()])
        self.assertTrue(a.voidcmd("NOOP").startswith("200"))
        self.assertTrue(b.voidcmd("NOOP").startswith("200"))
        self.assertTrue(os.path.isfile(os.path.join(self.srv.home("u0"), "mine_u0.txt")))
        self.assertTrue(os.path.isfile(os.path.join(self.srv.home("u1"), "mine_u1.txt")))


class PerIpLimitTest(unittest.TestCase):
    def test_fourth_connection_gets_421(self):
        with FerryServer(config={"max_sessions_per_ip": 3}, users={"alice": "password-a"}) as srv:
            conns = []
            try:
                for _ in range(3):
                    conns.append(srv.connect())
                conns[0].login("alice", "password-a")
                with self.assertRaises(ftplib.error_temp) as cm:
                    extra = ftplib.FTP(timeout=20)
                    try:
                        extra.connect(srv.host, srv.port)
                    finally:
                        extra.close()
                self.assertTrue(str(cm.exception).startswith("421"), str(cm.exception))
                # the three sessions still work
                for c in conns:
                    self.assertTrue(c.voidcmd("NOOP").startswith("200"))
                # after one leaves, a new connection is accepted (bounded wait for the server to notice)
                conns.pop().quit()
                ok = False
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not ok:
                    try:
                        c = srv.connect()
                        conns.append(c)
                        ok = True
                    except ftplib.error_temp:
                        time.sleep(0.2)
                self.assertTrue(ok, "no slot freed after a session quit")
                conns[-1].login("alice", "password-a")
            finally:
                for c in conns:
                    quit_quietly(c)


if __name__ == "__main__":
    unittest.main()
