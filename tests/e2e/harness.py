"""End-to-end harness: start a real ferryd (or pyftpdlib, for debugging the tests) on loopback.

    with FerryServer(users={"alice": "secret-pw"}, config={"idle_timeout": 2}) as srv:  # >= 8 chars
        ftp = srv.ftp("alice")                # logged-in ftplib.FTP, timeout 20
        ...

Env: FERRYD (server binary; default <repo>/bin/ferryd), FERRY (client), SERVER_UNDER_TEST=pyftpdlib
to run the same tests against tests/e2e/pyftpd_shim.py, E2E_KEEP=1 to keep temp dirs, EXE_RUNNER
("wine", make test-windows) to run a Windows ferryd.exe: the server is then stopped with SIGINT
(wine's CTRL_C_EVENT; SIGTERM would kill it outright) and tests that need POSIX skip themselves.
"""
import ctypes
import ftplib
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SERVER_UNDER_TEST = os.environ.get("SERVER_UNDER_TEST", "ferryd")
IS_FERRYD = SERVER_UNDER_TEST != "pyftpdlib"
HOST = "127.0.0.1"
TIMEOUT_SCALE = int(os.environ.get("E2E_TIMEOUT_SCALE") or 1)
TIMEOUT = 20 * TIMEOUT_SCALE
MiB = 1 << 20

_LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def ferryd_path():
    return os.environ.get("FERRYD") or os.path.join(REPO, "bin", "ferryd")


def ferry_client_path():
    return os.environ.get("FERRY") or os.path.join(REPO, "bin", "ferry")


EXE_RUNNER = os.environ.get("EXE_RUNNER", "").split()
ON_WINDOWS = bool(EXE_RUNNER) or ferryd_path().endswith(".exe")
# What stops the server gracefully: SIGTERM on Linux; under wine only SIGINT reaches the program
# (as CTRL_C_EVENT), SIGTERM kills the wine process at once.
STOP_SIGNAL = signal.SIGINT if ON_WINDOWS else signal.SIGTERM


def server_command():
    """argv prefix of the server under test (before --config)."""
    if IS_FERRYD:
        return EXE_RUNNER + [ferryd_path()]
    return ["/usr/bin/python3", os.path.join(HERE, "pyftpd_shim.py")]


def skip_unless_ferryd(reason="checks ferryd-specific behaviour"):
    return unittest.skipUnless(IS_FERRYD, reason + " (SERVER_UNDER_TEST=pyftpdlib)")


def skip_on_windows(reason):
    """For the few tests of POSIX-only behaviour (SIGHUP, run_as, Landlock, mode bits, xattrs):
    skipped with the reason printed when the server under test is ferryd.exe under wine."""
    return unittest.skipIf(ON_WINDOWS, "not on Windows: " + reason)


def _pdeathsig():
    # The server dies with the test process, even if the runner is killed.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table: hook = [{events = [...], url = "..."}]
        return "{" + ", ".join("%s = %s" % (k, _toml_value(x)) for k, x in v.items()) + "}"
    raise TypeError("cannot write %r as TOML" % (v,))


_all_servers = []


def _settled_text(path, quiet=0.03, limit=1.0):
    """The text of a log file once it has stopped growing for `quiet` seconds (at most `limit`):
    ferryd's lines are written by a thread of their own (off the reactors), a moment after the
    event they tell of, which a test may already have seen happen."""
    deadline = time.monotonic() + limit
    last, quiet_since = -1, time.monotonic()
    while True:
        try:
            size = os.path.getsize(path)
        except OSError:
            return ""
        now = time.monotonic()
        if size != last:
            last, quiet_since = size, now
        elif now - quiet_since >= quiet or now > deadline:
            break
        time.sleep(0.005)
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


class FerryServer:
    """A server on 127.0.0.1 with its own temp dir: config, homes, accounts file, logs."""

    def __init__(self, config=None, users=None, start=True):
        self.tmp = tempfile.mkdtemp(prefix="ferry-e2e-")
        self.root = os.path.join(self.tmp, "homes")
        os.makedirs(self.root)
        self.users_file = os.path.join(self.tmp, "users.toml")
        self.xferlog = os.path.join(self.tmp, "xferlog")
        self.stderr_path = os.path.join(self.tmp, "server.stderr")
        self.config_path = os.path.join(self.tmp, "ferryd.toml")
        self.config = {
            "listen": ["127.0.0.1:0"],
            "root": self.root,
            "users_file": self.users_file,
            # E2E_TIMEOUT_SCALE (make test-ktls: 4) stretches these for a machine under emulation,
            # where one argon2id check and one TLS handshake take seconds.
            "idle_timeout": 30 * TIMEOUT_SCALE,
            "data_timeout": 15 * TIMEOUT_SCALE,
            "login_timeout": 30 * TIMEOUT_SCALE,
            "login_fail_delay_ms": 200,
            "max_sessions": 300,
            "max_sessions_per_ip": 200,
            "max_sessions_unauthenticated": 300,
            "max_line": 4096,
            "xferlog": self.xferlog,
            "workers": 2,
            "default_quota": "2G",
            # Every test client is 127.0.0.1 and many tests try wrong passwords on purpose; the
            # defender's own tests (test_defender.py) set these back to real thresholds.
            "ban_threshold": 1000,
            "account_lock_threshold": 0,
        }
        self.config.update(config or {})
        with open(self.config_path, "w") as f:
            for k, v in self.config.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, _toml_value(v)))
        self.host = HOST
        self.port = None
        self.proc = None
        self.returncode = None
        self._stderr = None
        self.passwords = {}
        try:
            for name, pw in (users or {}).items():
                self.add_user(name, pw)
            if start:
                self.start()
        except BaseException:
            self.cleanup()  # nothing leaks when the server cannot be set up
            raise

    # ---- lifecycle
    def start(self, wait=10.0):
        seen = len(self.log_text())  # a restart must not read the previous run's port
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(server_command() + ["--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, cwd=self.tmp,
                                     preexec_fn=_pdeathsig, start_new_session=True)
        _all_servers.append(self)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            m = _LISTEN_RE.search(self.log_text(), seen)  # stderr, or log_file when the config names one
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        rc = self.proc.poll()
        self.kill()
        raise AssertionError("server did not report 'listening on 127.0.0.1:PORT' (exit=%s); stderr:\n%s"
                             % (rc, self.stderr_text()[-4000:]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Wait for the process to exit; returns its exit code or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self._stderr:
            self._stderr.close()
            self._stderr = None

    def stop(self, grace=10.0, expect_zero=True):
        """SIGTERM (SIGINT under wine), wait <= grace, else SIGKILL and fail. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(STOP_SIGNAL)
            rc = self.wait_exit(grace)
            if rc is None:
                self.kill()
                raise AssertionError("server did not exit within %.0fs of SIGTERM; stderr tail:\n%s"
                                     % (grace, self.stderr_text()[-3000:]))
        rc = self.proc.returncode
        self.returncode = rc
        self.kill()
        if expect_zero and rc != 0:
            raise AssertionError("server exited with %s (expected 0); stderr tail:\n%s"
                                 % (rc, self.stderr_text()[-3000:]))
        return rc

    def cleanup(self):
        self.kill()
        if self in _all_servers:
            _all_servers.remove(self)
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.stop()
        finally:
            self.cleanup()
        return False

    # ---- accounts
    def add_user(self, name, password, quota=None, admin=False):
        cmd = server_command() + ["--config", self.config_path, "user", "add", name, "--password-stdin"]
        if quota is not None:
            cmd += ["--quota", str(quota)]
        if admin:
            cmd.append("--admin")
        p = subprocess.run(cmd, input=(password + "\n").encode(), capture_output=True,
                           timeout=60, cwd=self.tmp)
        if p.returncode != 0:
            raise AssertionError("user add %s failed (%d): %s %s" % (name, p.returncode,
                                 p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))
        self.passwords[name] = password
        return p

    def home(self, name):
        return os.path.join(self.root, name)

    # ---- logs
    def stderr_text(self):
        return _settled_text(self.stderr_path)

    def log_text(self):
        text = self.stderr_text()
        lf = self.config.get("log_file")
        if lf:
            text += _settled_text(lf)
        return text

    def wait_log(self, pattern, wait=5.0):
        """The first match of `pattern` in the log, waiting up to `wait` s for it: the server logs its
        listeners one after another, and start() returns at the first (127.0.0.1) one."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + wait
        while True:
            m = regex.search(self.log_text())
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def xferlog_text(self):
        return _settled_text(self.xferlog)  # written by a thread of its own too

    # ---- clients
    def connect(self, timeout=TIMEOUT):
        """A connected, not logged-in ftplib.FTP."""
        ftp = ftplib.FTP(timeout=timeout)
        ftp.connect(self.host, self.port)
        return ftp

    def ftp(self, user, password=None, timeout=TIMEOUT):
        ftp = self.connect(timeout)
        ftp.login(user, password if password is not None else self.passwords[user])
        return ftp

    def url(self, path="/", user=None):
        auth = ""
        if user:
            auth = "%s:%s@" % (user, self.passwords[user])
        return "ftp://%s%s:%d%s" % (auth, self.host, self.port, path)


def kill_all_servers():
    for s in list(_all_servers):
        s.kill()


# ---- files
def make_file(path, size, seed=None):
    """Deterministic pseudo-random content; every MiB block differs. Returns path."""
    if seed is None:
        seed = os.path.basename(path)
    block = random.Random(str(seed) + ":" + str(size)).randbytes(min(size, MiB) or 1)
    n = len(block)
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            r = (i * 7919) % n
            chunk = (block[r:] + block[:r]) if r else block
            chunk = chunk[:left]
            f.write(chunk)
            left -= len(chunk)
            i += 1
    return path


def make_bytes(size, seed="bytes"):
    return random.Random(str(seed) + ":" + str(size)).randbytes(size)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(MiB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def run(cmd, timeout=60, input=None, env=None, cwd=None):
    """Run a client program, capture output; returns CompletedProcess (text, errors replaced)."""
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("timed out after %ss: %s\nstdout: %s\nstderr: %s" % (
            timeout, " ".join(cmd), (e.stdout or b"")[-2000:], (e.stderr or b"")[-2000:]))
    p.stdout = p.stdout.decode(errors="replace")
    p.stderr = p.stderr.decode(errors="replace")
    return p


# ---- raw protocol helpers
def reply_code(resp):
    return int(resp[:3])


def raw_send(ftp, data):
    ftp.sock.sendall(data)


def raw_reply(ftp):
    """Read one (possibly multi-line) reply without raising on 4xx/5xx."""
    return ftp.getmultiline()


def cmd_code(ftp, line):
    """Send a command; return the reply code (int) without raising on 4xx/5xx."""
    ftp.putcmd(line)
    return reply_code(ftp.getmultiline())


def open_data(ftp, mode, cmd, rest=None):
    """Open a data connection with mode in {pasv, epsv, port, eprt} and send cmd.
    Returns (socket, preliminary reply). Caller reads/writes, closes, then ftp.voidresp()."""
    mode = mode.lower()
    listener = None
    # A client bound to another loopback address (ftplib's source_address) keeps it for data too.
    source = getattr(ftp, "source_address", None)
    if mode == "pasv":
        host, port = ftplib.parse227(ftp.sendcmd("PASV"))
        conn = socket.create_connection((host, port), timeout=TIMEOUT, source_address=source)
    elif mode == "epsv":
        host, port = ftplib.parse229(ftp.sendcmd("EPSV"), ftp.sock.getpeername())
        conn = socket.create_connection((host, port), timeout=TIMEOUT, source_address=source)
    elif mode in ("port", "eprt"):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        local = source[0] if source else HOST
        listener.bind((local, 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        if mode == "port":
            ftp.voidcmd("PORT %s,%d,%d" % (local.replace(".", ","), port >> 8, port & 255))
        else:
            ftp.voidcmd("EPRT |1|%s|%d|" % (local, port))
        conn = None
    else:
        raise ValueError(mode)
    try:
        if rest is not None:
            ftp.sendcmd("REST %d" % rest)
        resp = ftp.sendcmd(cmd)
        if resp[0] == "2":
            resp = ftp.getresp()
        if resp[0] != "1":
            raise ftplib.error_reply(resp)
        if listener is not None:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    finally:
        if listener is not None:
            listener.close()
    return conn, resp


def retr_bytes(ftp, path, mode="pasv", rest=None):
    ftp.voidcmd("TYPE I")
    conn, _ = open_data(ftp, mode, "RETR " + path, rest=rest)
    chunks = []
    with conn:
        while True:
            b = conn.recv(256 * 1024)
            if not b:
                break
            chunks.append(b)
    ftp.voidresp()
    return b"".join(chunks)


def stor_bytes(ftp, path, data, mode="pasv", cmd="STOR", rest=None):
    ftp.voidcmd("TYPE I")
    conn, _ = open_data(ftp, mode, "%s %s" % (cmd, path), rest=rest)
    with conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
    return ftp.voidresp()


def list_text(ftp, cmd="LIST", mode="pasv"):
    ftp.voidcmd("TYPE A")
    conn, _ = open_data(ftp, mode, cmd)
    chunks = []
    with conn:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            chunks.append(b)
    ftp.voidresp()
    return b"".join(chunks).decode(errors="replace")


def upload_file(ftp, local, remote):
    with open(local, "rb") as f:
        return ftp.storbinary("STOR " + remote, f, blocksize=256 * 1024)


def download_file(ftp, remote, local, rest=None):
    with open(local, "ab" if rest else "wb") as f:
        return ftp.retrbinary("RETR " + remote, f.write, blocksize=256 * 1024, rest=rest)


def ftp_from(source, port, user=None, password=None, host=HOST):
    """An ftplib client bound to `source` (127.0.0.x, "another host"), data connections too
    (open_data and stor_try take its source_address), logged in when `user` is given."""
    ftp = ftplib.FTP(timeout=TIMEOUT, source_address=(source, 0))
    ftp.connect(host, port)
    if user:
        ftp.login(user, password)
    return ftp


def quit_quietly(ftp):
    try:
        ftp.quit()
    except Exception:
        pass
    try:
        ftp.close()
    except Exception:
        pass


class ServerTestCase(unittest.TestCase):
    """One server per TestCase class. Subclasses set USERS and CONFIG."""
    USERS = {"alice": "alice-pw-1", "bob": "bob-pw-2"}
    CONFIG = {}

    @classmethod
    def setUpClass(cls):
        cls.srv = FerryServer(config=dict(cls.CONFIG), users=dict(cls.USERS))
        cls.addClassCleanup(cls.srv.cleanup)
        cls.addClassCleanup(cls.srv.stop)  # runs first: SIGTERM, must exit 0
        cls.local = tempfile.mkdtemp(prefix="ferry-e2e-local-")
        cls.addClassCleanup(shutil.rmtree, cls.local, True)

    def setUp(self):
        self._clients = []
        self.assertTrue(self.srv.alive(), "server died earlier; stderr tail:\n" + self.srv.stderr_text()[-3000:])

    def tearDown(self):
        for c in self._clients:
            quit_quietly(c)

    def login(self, user=None, password=None):
        ftp = self.srv.ftp(user or next(iter(self.USERS)), password)
        self._clients.append(ftp)
        return ftp

    def connect(self):
        ftp = self.srv.connect()
        self._clients.append(ftp)
        return ftp

    def lpath(self, *parts):
        return os.path.join(self.local, *parts)

    def assert_server_alive(self, user=None):
        self.assertTrue(self.srv.alive(), "server died; stderr tail:\n" + self.srv.stderr_text()[-3000:])
        ftp = self.srv.ftp(user or next(iter(self.srv.passwords)))
        try:
            self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        finally:
            quit_quietly(ftp)
