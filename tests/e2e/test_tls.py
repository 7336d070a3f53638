"""FTPS (issue 6, RFC 4217): AUTH TLS/SSL, PBSZ, PROT, CCC; ftplib FTP_TLS (with session reuse), curl and
lftp transfers over TLS; tls = "required"; data connections that do not resume the control session;
stalled and garbage handshakes; implicit TLS; tls = "off"."""
import ftplib
import os
import shutil
import socket
import ssl
import tempfile
import time
import unittest

import harness
from harness import HOST, MiB, cmd_code, make_file, quit_quietly, run, sha256_file
from harness_ext import (ExtServerTestCase, FreshSessionFTP_TLS, ImplicitFTP_TLS, ReuseFTP_TLS,
                         client_context, implicit_tls_port, send_reply, tls_config, tls_login)

CURL = shutil.which("curl")
LFTP = shutil.which("lftp")
SIZES = (0, MiB, 16 * MiB)
USER, PW = "tina", "tina-pw-12"


def read_banner_and(sock, line):
    """Plain-socket helper: read the banner, send `line`, return its reply line."""
    f = sock.makefile("rb")
    try:
        f.readline()
        sock.sendall(line)
        return f.readline().decode(errors="replace")
    finally:
        f.close()


def wait_closed(sock, limit):
    """Seconds until the peer closes (EOF/reset), or None if still open after `limit` s."""
    t0 = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - t0 < limit:
        try:
            b = sock.recv(4096)
            if not b:
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


class TlsBase(ExtServerTestCase):
    USERS = {USER: PW}
    TLS_MODE = "optional"
    EXTRA = {}

    @classmethod
    def server_config(cls):
        cfg = tls_config(cls.TLS_MODE)
        cfg.update(cls.EXTRA)
        return cfg

    def remote(self, *parts):
        return os.path.join(self.srv.home(USER), *parts)

    def tls(self, cls=ReuseFTP_TLS, prot_p=True):
        ftp = tls_login(self.srv, USER, cls=cls, prot_p=prot_p)
        self._clients.append(ftp)
        return ftp

    def ftplib_roundtrip(self, ftp, prefix):
        for size in SIZES:
            name = "%s_%d.bin" % (prefix, size)
            local = make_file(self.lpath(name), size)
            with open(local, "rb") as f:
                resp = ftp.storbinary("STOR " + name, f, blocksize=256 * 1024)
            self.assertTrue(resp.startswith("226"), resp)
            self.assertEqual(os.path.getsize(self.remote(name)), size)
            self.assertEqual(sha256_file(self.remote(name)), sha256_file(local))
            back = self.lpath(name + ".back")
            with open(back, "wb") as f:
                resp = ftp.retrbinary("RETR " + name, f.write, blocksize=256 * 1024)
            self.assertTrue(resp.startswith("226"), resp)
            self.assertEqual(sha256_file(back), sha256_file(local))
        names = [os.path.basename(n) for n in ftp.nlst()]
        for size in SIZES:
            self.assertIn("%s_%d.bin" % (prefix, size), names)
        lines = []
        ftp.retrlines("LIST", lines.append)
        self.assertTrue(any(l.endswith("%s_%d.bin" % (prefix, MiB)) for l in lines), lines)


@harness.skip_unless_ferryd("FTPS is ferryd's")
class TlsOptionalTest(TlsBase):
    # short so the stalled handshake below is timed out quickly; stretched under emulation, where
    # lftp's TLS handshake plus an argon2id check took longer than 3 s (make test-ktls)
    LOGIN_TIMEOUT = 3 * harness.TIMEOUT_SCALE
    EXTRA = {"login_timeout": LOGIN_TIMEOUT}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tool_home = tempfile.mkdtemp(prefix="ferry-e2e-tls-home-")
        cls.addClassCleanup(shutil.rmtree, cls.tool_home, True)

    def test_auth_pbsz_prot_ccc(self):
        feat = self.connect().sendcmd("FEAT").splitlines()
        for f in (" AUTH TLS", " PBSZ", " PROT"):
            self.assertIn(f, feat)
        ftp = ReuseFTP_TLS()
        self._clients.append(ftp)
        ftp.connect(HOST, self.srv.port)
        resp = ftp.auth()  # AUTH TLS + handshake
        self.assertTrue(resp.startswith("234"), resp)
        self.assertIsInstance(ftp.sock, ssl.SSLSocket)
        ftp.login(USER, PW)
        self.assertEqual(send_reply(ftp, "PBSZ 0")[:3], "200")
        self.assertEqual(send_reply(ftp, "PROT P")[:3], "200")
        self.assertEqual(send_reply(ftp, "PROT C")[:3], "200")
        self.assertEqual(cmd_code(ftp, "CCC"), 534)
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        # AUTH SSL is accepted too
        s = socket.create_connection((HOST, self.srv.port), timeout=10)
        try:
            self.assertTrue(read_banner_and(s, b"AUTH SSL\r\n").startswith("234"))
            ss = client_context().wrap_socket(s, server_hostname=HOST)
            ss.sendall(b"NOOP\r\n")
            self.assertTrue(ss.recv(1024).startswith(b"200"))
            ss.close()
        finally:
            s.close()
        # plain sessions still allowed in "optional"
        plain = self.login(USER)
        self.assertEqual(plain.voidcmd("NOOP")[:3], "200")

    def test_ftplib_tls_transfers(self):
        ftp = self.tls()
        self.ftplib_roundtrip(ftp, "ftplib")
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        self.assertTrue(ftp.data_resumed and all(ftp.data_resumed),
                        "data connections did not resume the control session: %r" % ftp.data_resumed)

    def test_data_without_session_reuse_refused(self):
        make_file(self.remote("secret.bin"), 200000)
        ftp = self.tls(cls=FreshSessionFTP_TLS)
        for cmd in ("RETR secret.bin", "STOR fresh_up.bin"):
            ftp.voidcmd("TYPE I")
            host, port = ftplib.parse227(ftp.sendcmd("PASV"))
            raw = socket.create_connection((host, port), timeout=10)
            data = b""
            try:
                first = send_reply(ftp, cmd)
                final = first
                if first.startswith("1"):
                    try:
                        ds = client_context().wrap_socket(raw, server_hostname=HOST)  # fresh context
                        ds.settimeout(10)
                        if cmd.startswith("STOR"):
                            ds.sendall(b"x" * 100000)
                            ds.close()
                        else:
                            for _ in range(1000):
                                b = ds.recv(65536)
                                if not b:
                                    break
                                data += b
                    except (ssl.SSLError, OSError):
                        pass
                    final = ftp.getmultiline()
            finally:
                raw.close()
            self.assertTrue(final.startswith("5"), "%s over a non-resumed TLS session: %r then %r" % (cmd, first, final))
            self.assertEqual(data, b"", "data was sent over a data connection without session reuse")
        if os.path.exists(self.remote("fresh_up.bin")):
            self.assertEqual(os.path.getsize(self.remote("fresh_up.bin")), 0)
        # the control connection is still fine, and a resuming data connection works
        ok = self.tls()
        self.assertEqual(len(b"".join(self._retr(ok, "secret.bin"))), 200000)

    def _retr(self, ftp, name):
        out = []
        ftp.retrbinary("RETR " + name, out.append)
        return out

    @unittest.skipIf(CURL is None, "curl not installed")
    def test_curl_tls(self):
        base = "ftp://127.0.0.1:%d/" % self.srv.port
        args = [CURL, "-s", "-S", "--ssl-reqd", "-k", "--max-time", "60", "--user", "%s:%s" % (USER, PW)]
        for size in SIZES:
            name = "curl_%d.bin" % size
            local = make_file(self.lpath(name), size)
            p = run(args + ["-T", local, base + name], timeout=90)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(sha256_file(self.remote(name)), sha256_file(local))
            back = self.lpath(name + ".back")
            p = run(args + ["-o", back, base + name], timeout=90)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(sha256_file(back), sha256_file(local))
        p = run(args + ["--list-only", base], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("curl_%d.bin" % MiB, p.stdout.split())

    @unittest.skipIf(LFTP is None, "lftp not installed")
    def test_lftp_tls(self):
        script = ("set ftp:ssl-force true; set ssl:verify-certificate no; set ftp:ssl-protect-data true; "
                  "set net:max-retries 1; set net:timeout %d; set cmd:fail-exit yes; set xfer:clobber yes; "
                  "open -u %s,%s ftp://127.0.0.1:%d; " % (10 * harness.TIMEOUT_SCALE, USER, PW, self.srv.port))
        names = []
        for size in SIZES:
            name = "lftp_%d.bin" % size
            make_file(self.lpath(name), size)
            names.append(name)
        cmds = "".join("put %s -o %s; " % (n, n) for n in names)
        cmds += "".join("get %s -o %s.back; " % (n, n) for n in names)
        cmds += "cls -1"
        env = dict(os.environ, HOME=self.tool_home)
        p = run([LFTP, "-c", script + cmds], timeout=120, env=env, cwd=self.local)
        self.assertEqual(p.returncode, 0, "lftp failed:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-2000:]))
        for n in names:
            self.assertEqual(sha256_file(self.remote(n)), sha256_file(self.lpath(n)), n)
            self.assertEqual(sha256_file(self.lpath(n + ".back")), sha256_file(self.lpath(n)), n)
        self.assertIn("lftp_%d.bin" % MiB, p.stdout.split())

    def test_stalled_and_garbage_handshakes(self):
        stalled = socket.create_connection((HOST, self.srv.port), timeout=10)
        garbage = socket.create_connection((HOST, self.srv.port), timeout=10)
        try:
            self.assertTrue(read_banner_and(stalled, b"AUTH TLS\r\n").startswith("234"))
            t_stall = time.monotonic()
            # meanwhile another session logs in over TLS and lists
            t0 = time.monotonic()
            ftp = self.tls()
            ftp.nlst()
            self.assertLess(time.monotonic() - t0, 2.5 * harness.TIMEOUT_SCALE,
                            "a stalled handshake slowed another session")
            # garbage instead of a ClientHello closes that session only
            self.assertTrue(read_banner_and(garbage, b"AUTH TLS\r\n").startswith("234"))
            garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 8)
            self.assertIsNotNone(wait_closed(garbage, 5), "server kept a garbage handshake open")
            self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
            # the stalled one is timed out by login_timeout
            left = self.LOGIN_TIMEOUT + 6 - (time.monotonic() - t_stall)
            self.assertIsNotNone(wait_closed(stalled, max(left, 0.5)),
                                 "stalled handshake not timed out within login_timeout + 6 s")
            self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
            ftp.nlst()
        finally:
            stalled.close()
            garbage.close()
        self.assertTrue(self.srv.alive())


@harness.skip_unless_ferryd("FTPS is ferryd's")
class TlsRequiredTest(TlsBase):
    TLS_MODE = "required"

    def test_no_command_injection_across_auth_tls(self):
        """A man in the middle appends a command to AUTH TLS in clear text, as a complete line or an
        unterminated one that the client's first line under TLS would complete: neither may run."""
        for n, tail in enumerate((b"MKD injected_line\r\n", b"MKD injected_partial", b"NOOP\r\nMKD injected_both")):
            mark = len(self.srv.stderr_text())
            s = socket.create_connection((HOST, self.srv.port), timeout=10)
            try:
                f = s.makefile("rb")
                f.readline()  # banner
                s.sendall(b"AUTH TLS\r\n" + tail)
                self.assertTrue(f.readline().startswith(b"234"))
                f.close()
                ss = client_context().wrap_socket(s, server_hostname=HOST)
                sf = ss.makefile("rb")
                ss.sendall(("USER %s\r\n" % USER).encode())
                self.assertTrue(sf.readline().startswith(b"331"), "case %d: USER under TLS was not answered 331" % n)
                ss.sendall(("PASS %s\r\n" % PW).encode())
                self.assertTrue(sf.readline().startswith(b"230"), "case %d: PASS under TLS was not answered 230" % n)
                ss.sendall(b"PWD\r\n")
                self.assertTrue(sf.readline().startswith(b"257"))
                sf.close()
                ss.close()
            finally:
                s.close()
            log = self.srv.stderr_text()[mark:]
            self.assertNotIn("injected", log, "case %d ran an injected command" % n)
            self.assertRegex(log, r"AUTH TLS: dropped", "case %d: no log line about the dropped bytes" % n)
            for name in ("injected_line", "injected_partial", "injected_both", "injected_partialUSER %s" % USER):
                self.assertFalse(os.path.exists(self.remote(name)), name)

    def test_user_before_auth_refused(self):
        s = socket.create_connection((HOST, self.srv.port), timeout=10)
        try:
            reply = read_banner_and(s, ("USER %s\r\n" % USER).encode())
            self.assertIn(reply[:3], ("530", "534"), reply)
        finally:
            s.close()
        plain = ftplib.FTP(timeout=10)
        plain.connect(HOST, self.srv.port)
        with self.assertRaises(ftplib.error_perm):
            plain.login(USER, PW)
        quit_quietly(plain)

    def test_prot_c_transfer_refused(self):
        make_file(self.remote("req.bin"), 5000)
        ftp = self.tls(prot_p=False)
        ftp.voidcmd("PBSZ 0")
        self.assertIn(cmd_code(ftp, "PROT C"), (200, 534))
        ftp.voidcmd("TYPE I")
        r = send_reply(ftp, "PASV")
        if r.startswith("227"):
            host, port = ftplib.parse227(r)
            raw = socket.create_connection((host, port), timeout=10)
            try:
                reply = send_reply(ftp, "RETR req.bin")
                raw.settimeout(2)
                try:
                    data = raw.recv(65536)
                except OSError:
                    data = b""
            finally:
                raw.close()
            self.assertTrue(reply.startswith("5"), "clear-text transfer with tls=required: %r" % reply)
            self.assertEqual(data, b"")
        else:
            self.assertTrue(r.startswith("5"), r)
        # with PROT P it works
        ftp.prot_p()
        out = []
        ftp.retrbinary("RETR req.bin", out.append)
        self.assertEqual(len(b"".join(out)), 5000)
        self.ftplib_roundtrip(ftp, "req")

    @unittest.skipIf(CURL is None, "curl not installed")
    def test_curl_required(self):
        url = "ftp://127.0.0.1:%d/" % self.srv.port
        common = [CURL, "-s", "-S", "--max-time", "30", "--user", "%s:%s" % (USER, PW)]
        p = run(common + ["--ssl-reqd", "-k", "--list-only", url], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(common + ["--list-only", url], timeout=60)
        self.assertNotEqual(p.returncode, 0, "clear-text curl listed with tls=required")


@harness.skip_unless_ferryd("FTPS is ferryd's")
class TlsImplicitTest(TlsBase):
    @classmethod
    def server_config(cls):
        return tls_config("optional", implicit=True)

    def test_implicit_tls(self):
        port = implicit_tls_port(self.srv)
        ftp = ImplicitFTP_TLS()
        self._clients.append(ftp)
        welcome = ftp.connect(HOST, port)
        self.assertTrue(welcome.startswith("220"), welcome)
        ftp.login(USER, PW)
        ftp.prot_p()
        local = make_file(self.lpath("imp.bin"), MiB + 7)
        with open(local, "rb") as f:
            ftp.storbinary("STOR imp.bin", f)
        self.assertEqual(sha256_file(self.remote("imp.bin")), sha256_file(local))
        out = []
        ftp.retrbinary("RETR imp.bin", out.append)
        self.assertEqual(b"".join(out), open(local, "rb").read())
        if CURL:
            p = run([CURL, "-s", "-S", "-k", "--max-time", "30", "--user", "%s:%s" % (USER, PW),
                     "--list-only", "ftps://127.0.0.1:%d/" % port], timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("imp.bin", p.stdout.split())
        # the explicit port still works
        self.assertEqual(self.tls().voidcmd("NOOP")[:3], "200")


@harness.skip_unless_ferryd("FTPS is ferryd's")
class TlsOffTest(ExtServerTestCase):
    USERS = {USER: PW}
    CONFIG = {"tls": "off"}

    def test_auth_refused_when_off(self):
        ftp = self.connect()
        self.assertIn(cmd_code(ftp, "AUTH TLS"), (534, 502))
        ftp.login(USER, PW)
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
