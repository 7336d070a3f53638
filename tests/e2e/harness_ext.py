"""Additions to harness.py for the quota, SITE, HASH and FTPS tests (owned by these tests only).

- `ExtServerTestCase`: like ServerTestCase, but `USERS = {name: password | (password, quota, admin)}`
  and the accounts are created before the server starts (quota bytes or "1M", admin flag).
- TLS: `make_test_cert()` (one self-signed P-256 certificate per test process, made with openssl),
  `tls_config(mode)`, `client_context()` (no verification), `ReuseFTP_TLS` (ftplib.FTP_TLS whose
  PROT P data connections resume the control connection's TLS session, as FileZilla does),
  `ImplicitFTP_TLS` (TLS from the first byte), `implicit_tls_port(srv)` (from the log line
  `listening (implicit TLS) on 127.0.0.1:PORT`).
- Quota: `stor_try` (an upload that may be cut with 552: no exception, returns the final reply),
  `avbl`, `site_quota` (parses `used U of L bytes`), `user_cli` (`ferryd user ...`).
"""
import atexit
import ftplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import harness
from harness import HOST, TIMEOUT, FerryServer, ServerTestCase, reply_code, server_command

# ---------------------------------------------------------------- accounts / servers


class ExtServerTestCase(ServerTestCase):
    """One server per class; USERS values are a password or (password, quota, admin)."""
    USERS = {"alice": "alice-pw-1"}
    CONFIG = {}

    @classmethod
    def setUpClass(cls):
        srv = FerryServer(config=dict(cls.server_config()), users={}, start=False)
        try:
            for name, spec in cls.USERS.items():
                if isinstance(spec, str):
                    spec = (spec, None, False)
                pw, quota, admin = (tuple(spec) + (None, False))[:3]
                srv.add_user(name, pw, quota=quota, admin=admin)
            srv.start()
        except BaseException:
            srv.cleanup()
            raise
        cls.srv = srv
        cls.addClassCleanup(srv.cleanup)
        cls.addClassCleanup(srv.stop)
        cls.local = tempfile.mkdtemp(prefix="ferry-e2e-local-")
        cls.addClassCleanup(shutil.rmtree, cls.local, True)

    @classmethod
    def server_config(cls):
        return cls.CONFIG

    def login(self, user=None, password=None):
        ftp = self.srv.ftp(user or next(iter(self.USERS)), password)
        self._clients.append(ftp)
        return ftp


def user_cli(srv, *args, input=None, timeout=60):
    """`ferryd --config CFG user ARGS...` -> CompletedProcess (text)."""
    cmd = server_command() + ["--config", srv.config_path, "user"] + list(args)
    return harness.run(cmd, timeout=timeout, input=input.encode() if input is not None else None,
                       cwd=srv.tmp)


# ---------------------------------------------------------------- replies


def send_reply(ftp, line):
    """Send a command; return the whole reply text (no exception on 4xx/5xx)."""
    ftp.putcmd(line)
    return ftp.getmultiline()


_AVBL_RE = re.compile(r"^213 (\d+)\s*$")
_QUOTA_RE = re.compile(r"used (\d+) of (\d+) bytes")
_FREE_RE = re.compile(r"(\d+) bytes free")


def avbl(ftp, path=None):
    resp = send_reply(ftp, "AVBL" + (" " + path if path else ""))
    m = _AVBL_RE.match(resp)
    if not m:
        raise AssertionError("AVBL: expected '213 <bytes>', got %r" % resp)
    return int(m.group(1))


def site_quota(ftp):
    """-> (used, limit or None when unlimited, free or None, reply text)."""
    resp = send_reply(ftp, "SITE QUOTA")
    if not resp.startswith("200"):
        raise AssertionError("SITE QUOTA: expected 200, got %r" % resp)
    if "no limit" in resp:
        m = re.search(r"used (\d+)", resp)
        return (int(m.group(1)) if m else None), None, None, resp
    m = _QUOTA_RE.search(resp)
    f = _FREE_RE.search(resp)
    if not m or not f:
        raise AssertionError("SITE QUOTA: cannot parse %r" % resp)
    return int(m.group(1)), int(m.group(2)), int(f.group(1)), resp


def stor_try(ftp, path, data, cmd="STOR", rest=None, chunk=64 * 1024, pause=0.0):
    """Upload `data` over a PASV data connection; the server may stop it (552) at any point.
    Returns (final reply text, bytes the client managed to send). Never raises on 4xx/5xx."""
    ftp.voidcmd("TYPE I")
    if rest is not None:
        r = send_reply(ftp, "REST %d" % rest)
        if not r.startswith("350"):
            return r, 0
    r = send_reply(ftp, "PASV")
    if not r.startswith("227"):
        return r, 0
    host, port = ftplib.parse227(r)
    conn = socket.create_connection((host, port), timeout=TIMEOUT, source_address=getattr(ftp, "source_address", None))
    sent = 0
    try:
        r = send_reply(ftp, "%s %s" % (cmd, path))
        if not r.startswith("1"):
            return r, 0
        try:
            view = memoryview(data)
            while sent < len(data):
                n = conn.send(view[sent:sent + chunk])
                sent += n
                if pause:
                    time.sleep(pause)
            conn.shutdown(socket.SHUT_WR)
            # wait for the server to close its side (it has read everything or stopped)
            conn.settimeout(TIMEOUT)
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
        except OSError:
            pass  # reset when the server stops the upload at the quota
    finally:
        conn.close()
    return ftp.getmultiline(), sent


# ---------------------------------------------------------------- TLS

_cert_dir = None


def make_test_cert():
    """(cert.pem, key.pem) of a self-signed P-256 certificate for CN=localhost, one per process."""
    global _cert_dir
    if _cert_dir is None:
        d = tempfile.mkdtemp(prefix="ferry-e2e-cert-")
        atexit.register(shutil.rmtree, d, True)
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                            "-keyout", os.path.join(d, "k.pem"), "-out", os.path.join(d, "c.pem")],
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("openssl req failed: %s" % p.stderr.decode(errors="replace"))
        _cert_dir = d
    return os.path.join(_cert_dir, "c.pem"), os.path.join(_cert_dir, "k.pem")


def tls_config(mode="optional", implicit=False):
    cert, key = make_test_cert()
    cfg = {"tls": mode, "tls_cert": cert, "tls_key": key}
    if implicit:
        cfg["listen_implicit_tls"] = ["127.0.0.1:0"]
    return cfg


_IMPLICIT_RE = re.compile(r"listening \(implicit TLS\) on 127\.0\.0\.1:(\d+)")


def implicit_tls_port(srv, wait=5.0):
    m = srv.wait_log(_IMPLICIT_RE, wait)
    if not m:
        raise AssertionError("no 'listening (implicit TLS) on 127.0.0.1:PORT' line in the log:\n"
                             + srv.stderr_text()[-2000:])
    return int(m.group(1))


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ReuseFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose PROT P data connections resume the control connection's TLS session."""

    def __init__(self, *a, **kw):
        kw.setdefault("context", client_context())
        kw.setdefault("timeout", TIMEOUT)
        super().__init__(*a, **kw)
        self.data_resumed = []  # per PROT P data connection: did it resume the control session?

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            self.data_resumed.append(conn.session_reused)
        return conn, size


class FreshSessionFTP_TLS(ReuseFTP_TLS):
    """PROT P data connections with a brand-new SSLContext: a full handshake, no session resumption."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = client_context().wrap_socket(conn, server_hostname=self.host)
        return conn, size


class ImplicitFTP_TLS(ReuseFTP_TLS):
    """Implicit FTPS: TLS from the first byte of the control connection."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def tls_login(srv, user, cls=ReuseFTP_TLS, prot_p=True):
    ftp = cls()
    ftp.connect(HOST, srv.port)
    ftp.login(user, srv.passwords[user])
    if prot_p:
        ftp.prot_p()
    return ftp


__all__ = ["ExtServerTestCase", "user_cli", "send_reply", "avbl", "site_quota", "stor_try", "make_test_cert",
           "tls_config", "implicit_tls_port", "client_context", "ReuseFTP_TLS", "FreshSessionFTP_TLS",
           "ImplicitFTP_TLS", "tls_login", "reply_code"]
