"""Hostile or odd input, error codes, timeouts, shutdown during a transfer, and the xferlog."""
import ftplib
import os
import random
import re
import socket
import threading
import time
import unittest

import harness
from harness import (MiB, IS_FERRYD, FerryServer, ServerTestCase, cmd_code, make_file, open_data,
                     quit_quietly, raw_reply, raw_send, retr_bytes, sha256_bytes, sha256_file, stor_bytes)


class RobustnessTest(ServerTestCase):
    USERS = {"erin": "erin-pw-5", "frank": "frank-pw-6"}

    def test_garbage_lines_get_replies(self):
        ftp = self.login("erin")
        other = self.login("frank")
        rnd = random.Random(1234)
        for i in range(100):
            body = bytes(b for b in rnd.randbytes(rnd.randint(1, 200)) if b not in (10, 13, 255))
            raw_send(ftp, b"G" + body + b"\r\n")
            resp = raw_reply(ftp)
            self.assertRegex(resp, r"^5\d\d", "garbage line %d" % i)
        # invalid UTF-8 in an argument
        self.assertGreaterEqual(cmd_code_raw(ftp, b"CWD \xc3\x28\xa0\xa1\r\n"), 400)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        self.assertTrue(other.voidcmd("NOOP").startswith("200"))

    def test_telnet_iac_bare_lf_nul(self):
        ftp = self.login("erin")
        # IAC IP IAC DM before a command, and an IAC WILL/DO negotiation, are filtered out
        code = cmd_code_raw(ftp, b"\xff\xf4\xff\xf2NOOP\r\n")
        if IS_FERRYD:  # pyftpdlib does not filter Telnet commands
            self.assertEqual(code, 200)
            self.assertEqual(cmd_code_raw(ftp, b"\xff\xfb\x01NO\xff\xfe\x03OP\r\n"), 200)
            self.assertEqual(cmd_code_raw(ftp, b"NO\xff\xffOP\r\n") // 100, 5)  # IAC IAC = data 0xff
        if IS_FERRYD:  # pyftpdlib only ends lines at CR LF
            # bare LF ends a line too
            self.assertEqual(cmd_code_raw(ftp, b"NOOP\n"), 200)
            raw_send(ftp, b"NOOP\nNOOP\r\n")
            self.assertEqual(int(raw_reply(ftp)[:3]), 200)
            self.assertEqual(int(raw_reply(ftp)[:3]), 200)
        # NUL bytes inside a command or argument
        self.assertEqual(cmd_code_raw(ftp, b"NO\x00OP\r\n") // 100, 5)
        if IS_FERRYD:  # pyftpdlib drops the session on a NUL in a path
            self.assertEqual(cmd_code_raw(ftp, b"CWD a\x00b\r\n") // 100, 5)
            self.assertEqual(cmd_code_raw(ftp, b"SIZE x\x00/../../etc/passwd\r\n") // 100, 5)
        self.assertEqual(cmd_code_raw(ftp, b"\x00\x00\x00\r\n") // 100, 5)
        # lower case commands are fine
        self.assertEqual(cmd_code_raw(ftp, b"noop\r\n"), 200)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        # a second session still works, the server is alive
        self.assert_server_alive("frank")

    def test_binary_flood_then_disconnect(self):
        # 1 MiB of random bytes, no waiting for replies, then an abrupt close
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=20)
        try:
            s.recv(4096)
            blob = random.Random(99).randbytes(MiB)
            try:
                s.sendall(blob)
            except OSError:
                pass  # the server may close on us: fine
        finally:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        self.assert_server_alive("frank")

    def test_pass_without_user_503(self):
        ftp = self.connect()
        self.assertEqual(cmd_code(ftp, "PASS whatever"), 503)
        ftp.login("erin", self.USERS["erin"])
        self.assertEqual(ftp.pwd(), "/")

    def test_rest_junk_501(self):
        ftp = self.login("erin")
        ftp.voidcmd("TYPE I")
        for arg in ("junk", "-5", "12abc", ""):
            with self.subTest(arg=arg):
                self.assertEqual(cmd_code(ftp, ("REST " + arg).strip()), 501)
        self.assertTrue(ftp.sendcmd("REST 0").startswith("350"))
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))

    def test_retr_directory_550(self):
        ftp = self.login("erin")
        ftp.mkd("adir")
        ftp.voidcmd("TYPE I")
        host, port = ftplib.parse227(ftp.sendcmd("PASV"))
        conn = socket.create_connection((host, port), timeout=20)
        try:
            ftp.putcmd("RETR adir")
            resp = raw_reply(ftp)
            if resp.startswith("1"):  # some servers open first, then fail
                resp = raw_reply(ftp)
            self.assertTrue(resp.startswith("550"), resp)
        finally:
            conn.close()
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        self.assertEqual(cmd_code(ftp, "SIZE adir"), 550)

    @unittest.skipUnless(IS_FERRYD, "checks ferryd's answers during a transfer")
    def test_stat_with_a_path_during_a_download_gives_status_only(self):
        # STAT is answered at once during a transfer; with a path it must not start a listing
        # that would end the transfer's turn and let queued commands run in the middle of it.
        ftp = self.login("erin")
        data = os.urandom(16 * MiB)
        stor_bytes(ftp, "big_for_stat.bin", data)
        ftp.voidcmd("TYPE I")
        conn, resp = open_data(ftp, "pasv", "RETR big_for_stat.bin")
        try:
            first = conn.recv(65536)  # the transfer is running; the rest waits in the socket
            self.assertTrue(first)
            ftp.putcmd("STAT /")
            status = raw_reply(ftp)
            self.assertTrue(status.startswith("211"), status)
            self.assertIn("Transferring", status)
            received = [first]
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                received.append(chunk)
        finally:
            conn.close()
        self.assertTrue(raw_reply(ftp).startswith("226"))
        self.assertEqual(sha256_bytes(b"".join(received)), sha256_bytes(data))
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))

    @harness.skip_unless_ferryd("reads ferryd's log")
    def test_an_aborted_download_logs_what_the_kernel_took(self):
        """ABOR in the middle of a download: the log and the xferlog count at least what the client
        received (admins bill and audit from them), every time. Repeated: it was a race."""
        home = self.srv.home("frank")
        for size in (64, 8):
            make_file(os.path.join(home, "abor%d.bin" % size), size * MiB)
        ftp = self.login("frank")
        ftp.voidcmd("TYPE I")
        received = []
        for i in range(12):
            name = "abor%d.bin" % (64 if i % 2 == 0 else 8)
            conn = ftp.transfercmd("RETR " + name)
            got = 0
            while got < MiB:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
            resp = ftp.abort()
            if resp.startswith("426"):
                ftp.voidresp()
            conn.close()
            received.append((name, got))
        ftp.quit()
        deadline = time.monotonic() + 5
        logged = []
        while time.monotonic() < deadline:
            logged = [int(n) for n in re.findall(r"transfer of \S*/abor\d+\.bin aborted after (\d+) bytes",
                                                 self.srv.stderr_text())]
            if len(logged) >= len(received):
                break
            time.sleep(0.1)
        self.assertEqual(len(logged), len(received), self.srv.stderr_text()[-3000:])
        for (name, got), n in zip(received, logged):
            self.assertGreaterEqual(n, got, "%s: logged %d bytes, the client had received %d" % (name, n, got))
        xfer = [l.split() for l in self.srv.xferlog_text().splitlines() if "/abor" in l]
        self.assertEqual(len(xfer), len(received))
        for fields, (name, got) in zip(xfer, received):
            self.assertEqual(fields[-1], "i", fields)  # incomplete
            self.assertGreaterEqual(max(int(f) for f in fields if f.isdigit() and int(f) > 1000000), got, fields)

    def test_xferlog_line_per_transfer(self):
        ftp = self.login("erin")
        data = harness.make_bytes(12345, "xfer")
        stor_bytes(ftp, "xfer_up.bin", data)
        self.assertEqual(retr_bytes(ftp, "xfer_up.bin"), data)
        ftp.quit()

        def matching():
            lines = self.srv.xferlog_text().splitlines()
            up = [l for l in lines if "xfer_up.bin" in l and re.search(r"\si\s", l)]
            down = [l for l in lines if "xfer_up.bin" in l and re.search(r"\so\s", l)]
            return lines, up, down

        deadline = time.monotonic() + 5
        lines, up, down = matching()
        while (not up or not down) and time.monotonic() < deadline:
            time.sleep(0.1)
            lines, up, down = matching()
        self.assertEqual(len(up), 1, "xferlog:\n" + "\n".join(lines))
        self.assertEqual(len(down), 1, "xferlog:\n" + "\n".join(lines))
        for line in up + down:
            fields = line.split()
            self.assertIn("12345", fields, line)  # byte count
            self.assertIn("erin", fields, line)   # user
            self.assertIn("127.0.0.1", fields, line)
            self.assertEqual(fields[-1], "c", line)  # completed


class IdleTimeoutTest(unittest.TestCase):
    @harness.skip_unless_ferryd("the close-flush limit is ferryd's")
    def test_a_client_that_reads_nothing_gets_the_full_flush_limit_after_a_timeout(self):
        """After the idle timeout's 421, a client whose replies cannot be written (it reads
        nothing) is given the close-flush limit (5 s) from then on, not from its last command."""
        with FerryServer(config={"idle_timeout": 2}, users={"gina": "gina-password"}) as srv:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect((harness.HOST, srv.port))
            try:
                s.recv(1000)  # the banner
                burst = b"USER gina\r\nPASS gina-password\r\n" + b"FEAT\r\n" * 40000

                def send_burst():  # the server stops reading once its replies back up: may block
                    try:
                        s.sendall(burst)
                    except OSError:
                        pass
                threading.Thread(target=send_burst, daemon=True).start()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # its last command ran when it stops logging them
                    text = srv.stderr_text()
                    if "gina disconnected" in text:
                        break
                    time.sleep(0.1)
                m = [l for l in srv.stderr_text().splitlines() if "gina disconnected" in l]
                self.assertTrue(m, srv.stderr_text()[-2000:])
                self.assertIn("did not read its last replies", m[0])
                timeout_at = [l for l in srv.stderr_text().splitlines() if "refused" in l and "421" in l]
                self.assertTrue(timeout_at, srv.stderr_text()[-2000:])

                def stamp(line):
                    hms = line.split()[0].split("T")[1].rstrip("Z")
                    h, mi, sec = hms.split(":")
                    return int(h) * 3600 + int(mi) * 60 + float(sec)
                waited = stamp(m[0]) - stamp(timeout_at[0])
                self.assertGreaterEqual(waited, 4.5, "closed %.2f s after the 421: the flush limit is 5 s" % waited)
            finally:
                s.close()

    def test_idle_session_gets_421(self):
        with FerryServer(config={"idle_timeout": 2}, users={"gina": "gina-password"}) as srv:
            ftp = srv.ftp("gina")
            try:
                busy = srv.ftp("gina")
                t0 = time.monotonic()
                # keep one session busy: it must not be closed
                for _ in range(6):
                    time.sleep(0.5)
                    busy.voidcmd("NOOP")
                ftp.sock.settimeout(15)
                line = ftp.getmultiline()  # unsolicited 421 from the server
                elapsed = time.monotonic() - t0
                self.assertTrue(line.startswith("421"), line)
                self.assertLess(elapsed, 12)
                # then the connection is closed
                ftp.sock.settimeout(5)
                self.assertEqual(ftp.sock.recv(100), b"")
                self.assertTrue(busy.voidcmd("NOOP").startswith("200"))
                quit_quietly(busy)
            finally:
                quit_quietly(ftp)


class SigtermTest(unittest.TestCase):
    def test_sigterm_during_transfer_exits_zero(self):
        srv = FerryServer(users={"hank": "hank-password"})
        try:
            size = 64 * MiB
            make_file(os.path.join(srv.home("hank"), "big.bin"), size)
            want = sha256_file(os.path.join(srv.home("hank"), "big.bin"))
            ftp = srv.ftp("hank")
            ftp.voidcmd("TYPE I")
            conn, _ = open_data(ftp, "pasv", "RETR big.bin")
            import hashlib
            h = hashlib.sha256()
            got = 0
            while got < 2 * MiB:
                b = conn.recv(65536)
                self.assertTrue(b)
                h.update(b)
                got += len(b)
            srv.signal(harness.STOP_SIGNAL)
            time.sleep(0.3)
            # new connections are no longer accepted (or get 421)
            # keep reading what the server still sends (bounded)
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                try:
                    b = conn.recv(256 * 1024)
                except (socket.timeout, ConnectionResetError):
                    break
                if not b:
                    break
                h.update(b)
                got += len(b)
            conn.close()
            rc = srv.wait_exit(40)  # default shutdown_grace is 30 s
            self.assertIsNotNone(rc, "server still running 40 s after SIGTERM")
            self.assertEqual(rc, 0, "exit code after SIGTERM; stderr:\n" + srv.stderr_text()[-3000:])
            if IS_FERRYD:
                # the running transfer was allowed to finish within the grace time
                self.assertEqual(got, size)
                self.assertEqual(h.hexdigest(), want)
            quit_quietly(ftp)
        finally:
            srv.kill()
            srv.cleanup()

    @unittest.skipUnless(IS_FERRYD, "how a HASH ends on shutdown is ferryd's")
    def test_sigterm_cancels_a_running_hash(self):
        srv = FerryServer(users={"hank": "hank-password"})
        try:
            with open(os.path.join(srv.home("hank"), "big.bin"), "wb") as f:
                f.truncate(2048 * MiB)  # sparse: seconds of SHA-512, unless cancelled
            ftp = srv.ftp("hank")
            ftp.sock.settimeout(15)
            ftp.putcmd("XSHA512 big.bin 0 2147483000")
            time.sleep(0.2)
            t0 = time.monotonic()
            srv.signal(harness.STOP_SIGNAL)
            first = ftp.getline()
            second = ftp.getline()
            self.assertTrue(first.startswith("451 "), first)  # the HASH is cancelled and says so
            self.assertTrue(second.startswith("421 "), second)
            rc = srv.wait_exit(10)
            self.assertEqual(rc, 0, "exit code after SIGTERM; stderr:\n" + srv.stderr_text()[-3000:])
            self.assertLess(time.monotonic() - t0, 5, "the drain waited for the HASH")
        finally:
            srv.kill()
            srv.cleanup()

    def test_sigterm_idle_exits_quickly(self):
        srv = FerryServer(users={"hank": "hank-password"})
        try:
            ftp = srv.ftp("hank")
            t0 = time.monotonic()
            srv.signal(harness.STOP_SIGNAL)
            rc = srv.wait_exit(10)
            self.assertIsNotNone(rc, "an idle server must exit promptly on SIGTERM")
            self.assertEqual(rc, 0)
            self.assertLess(time.monotonic() - t0, 10)
            quit_quietly(ftp)
        finally:
            srv.kill()
            srv.cleanup()


def cmd_code_raw(ftp, data):
    raw_send(ftp, data)
    return int(raw_reply(ftp)[:3])


if __name__ == "__main__":
    unittest.main()
