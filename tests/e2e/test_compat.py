"""What stock clients trip on: ABOR sent as TCP urgent data (ftplib.FTP.abort, Telnet IP/DM),
stock ftplib.FTP_TLS under tls_session_reuse, the 552 that curl and ftplib read when an upload
passes the quota, the real byte counts of cut transfers, STOU in a folder, the UNIX.* MLSx facts,
log lines people can read, SIGHUP, `ferryd user ... --config` and a password in ferry's URL."""
import ftplib
import io
import os
import re
import signal
import socket
import ssl
import time

import harness
from harness import (HOST, MiB, FerryServer, ServerTestCase, ferry_client_path, list_text, make_bytes, run,
                     server_command, skip_unless_ferryd, stor_bytes)
from harness_ext import ExtServerTestCase, client_context, tls_config

BIG = 64 * MiB  # a download still running when ABOR arrives (loopback buffers hold a few MiB)


def stock_ftp_tls(srv, user):
    """The standard library's FTP_TLS as it ships: its data connections never resume the session."""
    ftp = ftplib.FTP_TLS(context=client_context(), timeout=harness.TIMEOUT)
    ftp.connect(HOST, srv.port)
    ftp.login(user, srv.passwords[user])
    ftp.prot_p()
    return ftp


@skip_unless_ferryd()
class UrgentAborTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.srv.home("alice"), "big.bin"), "wb") as f:
            f.truncate(BIG)

    def assert_abort_pair(self, ftp, started):
        """ftplib.abort() returns the first reply; the second must follow, both within a second."""
        first = ftp.abort()
        second = ftp.getresp()
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertTrue(first.startswith("426"), first)
        self.assertTrue(second.startswith("226"), second)

    def test_stock_ftplib_abort_during_retr(self):
        ftp = self.login("alice")
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR big.bin")
        conn.recv(65536)
        self.assert_abort_pair(ftp, time.monotonic())
        conn.close()
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        self.assertEqual(ftp.size("big.bin"), BIG)

    def test_stock_ftplib_abort_during_stor(self):
        ftp = self.login("alice")
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("STOR up.bin")
        conn.sendall(make_bytes(300000))
        time.sleep(0.2)  # let the server write it
        self.assert_abort_pair(ftp, time.monotonic())
        conn.close()
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        self.assertEqual(ftp.size("up.bin"), 300000)
        # the xferlog and the log carry the bytes that really moved, not 0
        deadline = time.monotonic() + 5
        while "up.bin" not in self.srv.xferlog_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = [l for l in self.srv.xferlog_text().splitlines() if "up.bin" in l][-1]
        self.assertIn(" 300000 ", line)
        self.assertTrue(line.endswith(" i"), line)
        self.assertIn("aborted after 300000 bytes", self.srv.log_text())

    def test_telnet_interrupt_and_synch_before_abor(self):
        """IAC IP, then IAC DM with DM as the urgent byte, then ABOR (RFC 959 4.1.3)."""
        ftp = self.login("alice")
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR big.bin")
        conn.recv(65536)
        started = time.monotonic()
        ftp.sock.sendall(b"\xff\xf4\xff")
        ftp.sock.send(b"\xf2", socket.MSG_OOB)
        ftp.sock.sendall(b"ABOR\r\n")
        first, second = ftp.getmultiline(), ftp.getmultiline()
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertTrue(first.startswith("426"), first)
        self.assertTrue(second.startswith("226"), second)
        conn.close()
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")

    def test_aborted_download_logs_its_bytes(self):
        ftp = self.login("alice")
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR big.bin")
        got = 0
        while got < 4 * MiB:
            got += len(conn.recv(1 << 20))
        ftp.abort()
        ftp.getresp()
        conn.close()
        m = re.findall(r"transfer of \S*big\.bin aborted after (\d+) bytes", self.srv.log_text())
        self.assertTrue(m, self.srv.log_text()[-2000:])
        self.assertGreaterEqual(int(m[-1]), 4 * MiB)


@skip_unless_ferryd()
class TlsSessionReuseOptionalTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = dict(tls_config("optional"), tls_session_reuse="optional")

    def test_stock_ftp_tls_moves_bytes(self):
        ftp = stock_ftp_tls(self.srv, "alice")
        self._clients.append(ftp)
        data = make_bytes(3 * MiB, "tls-opt")
        ftp.storbinary("STOR t.bin", io.BytesIO(data))
        out = io.BytesIO()
        ftp.retrbinary("RETR t.bin", out.write)
        self.assertEqual(out.getvalue(), data)
        self.assertIn("t.bin", ftp.nlst())
        self.assertIn('accepted from the client\'s address (tls_session_reuse = "optional")', self.srv.log_text())

    def test_a_foreign_address_is_still_refused(self):
        """optional relaxes resumption only: a data connection from another address never counts."""
        ftp = stock_ftp_tls(self.srv, "alice")
        self._clients.append(ftp)
        host, port = ftplib.parse227(ftp.sendcmd("PASV"))
        thief = socket.socket()
        thief.bind(("127.0.0.2", 0))
        thief.settimeout(5)
        thief.connect((host, port))
        ftp.putcmd("NLST")
        thief.settimeout(3)
        try:
            self.assertEqual(thief.recv(10), b"")  # closed by the server
        except (ConnectionResetError, socket.timeout):
            pass
        thief.close()
        self.assertIn("data connection from 127.0.0.2", self.srv.log_text())


@skip_unless_ferryd()
class TlsSessionReuseRequiredTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = tls_config("optional")  # tls_session_reuse = "required" is the default

    def test_stock_ftp_tls_gets_522_naming_the_key(self):
        ftp = stock_ftp_tls(self.srv, "alice")
        self._clients.append(ftp)
        with self.assertRaises((ftplib.error_perm, ssl.SSLError, OSError)) as caught:
            ftp.nlst()
        text = str(caught.exception)
        if isinstance(caught.exception, ftplib.error_perm):
            self.assertTrue(text.startswith("522"), text)
            self.assertIn("tls_session_reuse", text)
        else:  # the server closed the data connection before ftplib read the 522
            final = ftp.getmultiline()
            self.assertTrue(final.startswith("522") and "tls_session_reuse" in final, final)
        self.assertIn('refused (tls_session_reuse = "required")', self.srv.log_text())


@skip_unless_ferryd()
class QuotaDrainTests(ExtServerTestCase):
    QUOTA = 3 * MiB
    USERS = {"alice": ("alice-pw-1", 3 * MiB, False)}

    def setUp(self):
        super().setUp()
        ftp = self.login("alice")  # through the server, so that the usage it counts drops too
        for name in ftp.nlst():
            ftp.delete(name)

    def local_file(self, size):
        path = self.lpath("up-%d.bin" % size)
        with open(path, "wb") as f:
            f.write(make_bytes(size, "drain"))
        return path

    def test_curl_reads_the_552(self):
        src = self.local_file(20 * MiB)
        p = run(["curl", "-sS", "-v", "-T", src, self.srv.url("/c.bin", "alice")], timeout=60)
        self.assertNotIn("reset", p.stderr.lower(), p.stderr[-2000:])
        self.assertIn("552 Quota exceeded", p.stderr)
        self.assertEqual(p.returncode, 70, p.stderr[-2000:])  # CURLE_REMOTE_DISK_FULL, not 55 (send failure)
        self.assertEqual(os.path.getsize(os.path.join(self.srv.home("alice"), "c.bin")), self.QUOTA)
        with open(src, "rb") as f, open(os.path.join(self.srv.home("alice"), "c.bin"), "rb") as g:
            self.assertEqual(f.read(self.QUOTA), g.read())

    def test_ftplib_reads_the_552(self):
        ftp = self.login("alice")
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.storbinary("STOR f.bin", io.BytesIO(make_bytes(12 * MiB, "drain")))
        self.assertTrue(str(caught.exception).startswith("552 Quota exceeded"), str(caught.exception))
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")  # in step: the 552 was not left for later
        self.assertEqual(ftp.size("f.bin"), self.QUOTA)
        self.assertRegex(self.srv.log_text(), r"f\.bin: 3145728 bytes in [0-9.]+ ms .* more bytes dropped over quota")

    def test_lftp_shows_the_552(self):
        src = self.local_file(6 * MiB)
        p = run(["lftp", "-c", "set ftp:ssl-allow no; open -u alice,alice-pw-1 -p %d %s; put %s -o l.bin"
                 % (self.srv.port, HOST, src)], timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("552", p.stdout + p.stderr)
        self.assertEqual(os.path.getsize(os.path.join(self.srv.home("alice"), "l.bin")), self.QUOTA)


@skip_unless_ferryd()
class QuotaDrainBoundTests(ExtServerTestCase):
    """Past quota_drain_limit the data connection is cut; the file still holds exactly the quota."""
    USERS = {"alice": ("alice-pw-1", 1 * MiB, False)}
    CONFIG = {"quota_drain_limit": "1M"}

    def test_past_the_bound_the_upload_is_cut(self):
        ftp = self.login("alice")
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("STOR cut.bin")
        cut = False
        try:
            for _ in range(64):
                conn.sendall(make_bytes(1 * MiB, "cut"))
        except OSError:
            cut = True
        conn.close()
        self.assertTrue(cut, "64 MiB went through a 1 MiB drain bound")
        self.assertTrue(ftp.getmultiline().startswith("552"))
        self.assertEqual(ftp.size("cut.bin"), 1 * MiB)


@skip_unless_ferryd()
class StouAndFactsTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}

    def test_stou_stores_in_the_folder_given(self):
        ftp = self.login("alice")
        ftp.mkd("sub")
        for expected in ("sub/x", "sub/x.1"):
            ftp.voidcmd("TYPE I")
            conn = ftp.transfercmd("STOU sub/x")
            conn.sendall(b"unique")
            conn.close()
            ftp.voidresp()
            self.assertTrue(os.path.isfile(os.path.join(self.srv.home("alice"), expected)), expected)
        self.assertFalse(os.path.exists(os.path.join(self.srv.home("alice"), "x")))
        ftp.putcmd("STOU nowhere/x")
        resp = ftp.getmultiline()
        self.assertTrue(resp.startswith("5"), resp)
        self.assertIn("nowhere", resp)

    def test_mlsd_and_mlst_give_unix_facts(self):
        ftp = self.login("alice")
        stor_bytes(ftp, "m.txt", b"facts")
        os.chmod(os.path.join(self.srv.home("alice"), "m.txt"), 0o640)
        entries = dict(ftp.mlsd())
        self.assertEqual(entries["m.txt"]["unix.mode"], "0640")
        self.assertEqual(entries["m.txt"]["unix.owner"], "alice")
        self.assertEqual(entries["m.txt"]["unix.group"], "alice")
        self.assertIn("UNIX.mode=0640;", ftp.sendcmd("MLST m.txt"))
        self.assertIn("UNIX.mode*;UNIX.owner*;UNIX.group*;", ftp.sendcmd("FEAT"))

    def test_log_lines_print_milliseconds_and_rates(self):
        ftp = self.login("alice")
        stor_bytes(ftp, "tiny.txt", b"x")
        list_text(ftp)
        log = self.srv.log_text()
        lines = [l for l in log.splitlines() if " upload " in l or " listing " in l]
        self.assertTrue(lines)
        for line in lines:
            # the duration and the rate, never in scientific notation (the path may hold "e-")
            m = re.search(r"bytes in (\S+) ms \(([^)]*)\)", line)
            self.assertTrue(m, line)
            self.assertRegex(m.group(1), r"^[0-9]+(\.[0-9]+)?$", line)
            self.assertRegex(m.group(2), r"^(-|[0-9]+(\.[0-9]+)? [kMG]?B/s)$", line)
            self.assertNotEqual(m.group(2), "0 MB/s", line)


@skip_unless_ferryd()
@harness.skip_on_windows("SIGHUP reopens the logs; Windows has no SIGHUP (restart the service to rotate)")
class SighupTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}

    def test_sighup_reopens_the_logs_and_keeps_serving(self):
        srv = FerryServer(config={"log_file": os.path.join(self.local, "ferryd.log")}, users={"alice": "alice-pw-1"})
        self.addCleanup(srv.cleanup)
        log, xferlog = srv.config["log_file"], srv.xferlog
        ftp = srv.ftp("alice")
        stor_bytes(ftp, "before.bin", b"1")
        os.rename(log, log + ".1")
        os.rename(xferlog, xferlog + ".1")
        # a transfer running across the SIGHUP is not cut
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("STOR during.bin")
        conn.sendall(make_bytes(MiB, "hup"))
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while not os.path.exists(log) and time.monotonic() < deadline:
            time.sleep(0.05)
        conn.sendall(make_bytes(MiB, "hup2"))
        conn.close()
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertTrue(srv.alive())
        self.assertIn("SIGHUP: reopened", harness._settled_text(log))
        with open(xferlog) as f:
            self.assertIn("during.bin", f.read())
        ftp.quit()
        self.assertEqual(srv.stop(), 0)


@skip_unless_ferryd()
class CommandLineTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}

    def test_config_after_the_user_subcommand(self):
        p = run(server_command() + ["user", "add", "carl", "--password-stdin", "--config", self.srv.config_path],
                input=b"carl-pass-1\n", cwd=self.srv.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(server_command() + ["user", "list", "--config=" + self.srv.config_path], cwd=self.srv.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("carl", p.stdout)
        self.srv.ftp("carl", "carl-pass-1").quit()

    def test_ferry_takes_the_password_from_the_url(self):
        os.makedirs(os.path.join(self.srv.home("alice"), "docs"), exist_ok=True)
        env = dict(os.environ, HOME=self.local)
        env.pop("FERRY_PASSWORD", None)
        url = "ftp://alice:alice%%2Dpw-1@127.0.0.1:%d/docs" % self.srv.port  # %2D is "-", decoded
        p = run([ferry_client_path(), url, "-c", "pwd"], env=env, input=b"")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("/docs", p.stdout)
        self.assertEqual(p.stderr.count("password in the URL"), 1, p.stderr)
        self.assertIn("FERRY_PASSWORD", p.stderr)
        p = run([ferry_client_path(), "ftp://alice:wrong-pw@127.0.0.1:%d/" % self.srv.port, "-c", "pwd"], env=env)
        self.assertNotEqual(p.returncode, 0)
