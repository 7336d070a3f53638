"""Shared pieces of the `ferry` client tests (tests/e2e/test_client_*.py, issue 7).

- FerrydServer: harness.FerryServer plus restart() (after a SIGKILL: same root, same accounts).
- FtpProxy: a tiny FTP-aware TCP proxy in front of a server. It rewrites the port in 227/229
  replies so data connections pass through it too, can throttle data connections (so a transfer
  can be cut midway or draws a progress bar) and can flip one byte of uploaded data (a corrupted
  upload that the server stores and hashes faithfully).
- PyftpdServer: a stock pyftpdlib server (no HASH, no XMD5), optionally with a read-only user or
  TLS, run by this file under the system interpreter (`/usr/bin/python3 client_support.py --serve`).
- Pty: ferry on a pseudo-terminal that is its controlling terminal (so ^C is a real SIGINT).
- ClientTestCase: one server per test (make_server()), ferry() runs the client with -c.
Every wait is bounded, and every server or proxy started here is stopped in a cleanup.
"""
import hashlib
import json
import os
import random
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FERRY = os.path.abspath(os.environ.get("FERRY") or os.path.join(REPO, "bin", "ferry"))
# pyftpdlib is a Debian package for the system interpreter (another python3 may not see it).
SERVER_PYTHON = os.environ.get("PYFTPD_PYTHON", "/usr/bin/python3")
RUN_TIMEOUT = 60  # seconds for one ferry run
PASSWORD = "pass-word-1"  # ferryd wants >= 8 characters
MiB = 1 << 20


# ---------------------------------------------------------------------------------------------
# files

def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def write_random(path, size, seed=0):
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(size))
    return path


def make_test_cert(folder):
    """(cert.pem, key.pem): a self-signed P-256 certificate for CN=localhost in `folder`."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def wait_for_size(path, at_least, timeout=20):
    """Waits until `path` holds more than `at_least` bytes; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > at_least:
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------------------------
# the real server

def _harness():
    sys.path.insert(0, HERE)
    import harness
    return harness


class FerrydServer:
    """ferryd through harness.FerryServer, with the interface the client tests use."""

    def __init__(self, users=None, config=None, quotas=None, admins=()):
        harness = _harness()
        cfg = {"registration": "open"}
        cfg.update(config or {})
        self.srv = harness.FerryServer(config=cfg, users={}, start=False)
        try:
            for name in users or ["user"]:
                self.srv.add_user(name, PASSWORD, quota=(quotas or {}).get(name), admin=name in admins)
            self.srv.start()
        except BaseException:
            self.srv.cleanup()
            raise
        self.host = self.srv.host

    @property
    def port(self):
        return self.srv.port

    def home(self, user="user"):
        path = self.srv.home(user)
        os.makedirs(path, exist_ok=True)  # homes appear at first login; tests may write first
        return path

    def ftp(self, user):
        """A logged-in ftplib.FTP (for an admin's SITE commands)."""
        return self.srv.ftp(user, PASSWORD)

    def kill(self):
        """SIGKILL: the 'server died mid-transfer' case."""
        self.srv.kill()

    def restart(self):
        """A new ferryd on the same root and accounts (a new port: read .port again)."""
        self.srv.kill()
        # start() finds the port in the log: the dead server's line must not be read again.
        os.replace(self.srv.stderr_path, self.srv.stderr_path + ".%d" % time.monotonic_ns())
        self.srv.start()

    def close(self):
        try:
            self.srv.stop(expect_zero=False)
        finally:
            self.srv.cleanup()


# ---------------------------------------------------------------------------------------------
# the proxy

_PASV_227 = re.compile(rb"^227 .*?\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)")
_EPSV_229 = re.compile(rb"^229 .*?\(\|\|\|(\d+)\|\)")
SOCKET_TIMEOUT = 30


class FtpProxy:
    """127.0.0.1:port -> target. rate: bytes/s per data connection (0 = unlimited);
    corrupt_at: flips the byte at this offset of every upload (client -> server data);
    corrupt_download_at: the same for every download (server -> client data)."""

    def __init__(self, target_port, rate=0, corrupt_at=None, corrupt_download_at=None):
        self.target_port = target_port
        self.rate = rate
        self.corrupt_at = corrupt_at
        self.corrupt_download_at = corrupt_download_at
        self.sockets = []
        self.lock = threading.Lock()
        self.closed = False
        self.listener = self._listen()
        self.port = self.listener.getsockname()[1]
        self._spawn(self._accept_control)

    def _listen(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.settimeout(SOCKET_TIMEOUT)
        self._track(s)
        return s

    def _track(self, s):
        with self.lock:
            self.sockets.append(s)
        if self.closed:
            s.close()

    @staticmethod
    def _spawn(fn, *args):
        threading.Thread(target=fn, args=args, daemon=True).start()

    def _connect(self, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        self._track(s)
        return s

    def _accept_control(self):
        for _ in range(1000):  # far more sessions than any test opens
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            client.settimeout(SOCKET_TIMEOUT)
            self._track(client)
            try:
                server = self._connect(self.target_port)
            except OSError:
                client.close()
                continue
            self._spawn(self._pump, client, server, False, None)
            self._spawn(self._replies, server, client)

    def _replies(self, server, client):
        """server -> client on the control connection, line by line, data ports rewritten."""
        pending = b""
        try:
            for _ in range(1_000_000):
                chunk = server.recv(65536)
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    client.sendall(self._rewrite(line) + b"\n")
        except OSError:
            pass
        self._close_pair(server, client)

    def _rewrite(self, line):
        m = _EPSV_229.match(line)
        if m:
            return b"229 Entering Extended Passive Mode (|||%d|)\r" % self._data_relay(int(m.group(1)))
        m = _PASV_227.match(line)
        if m:
            port = self._data_relay(int(m.group(5)) * 256 + int(m.group(6)))
            return b"227 Entering Passive Mode (127,0,0,1,%d,%d).\r" % (port >> 8, port & 255)
        return line

    def _data_relay(self, server_port):
        listener = self._listen()
        self._spawn(self._accept_data, listener, server_port)
        return listener.getsockname()[1]

    def _accept_data(self, listener, server_port):
        try:
            client, _ = listener.accept()
            client.settimeout(SOCKET_TIMEOUT)
            self._track(client)
            server = self._connect(server_port)
        except OSError:
            return
        finally:
            listener.close()
        self._spawn(self._pump, client, server, True, self.corrupt_at)
        self._spawn(self._pump, server, client, True, self.corrupt_download_at)

    def _pump(self, src, dst, throttle, corrupt_at):
        started, moved = time.monotonic(), 0
        try:
            for _ in range(10_000_000):
                chunk = src.recv(16384)
                if not chunk:
                    break
                if corrupt_at is not None and moved <= corrupt_at < moved + len(chunk):
                    at = corrupt_at - moved
                    chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1:]
                dst.sendall(chunk)
                moved += len(chunk)
                if throttle and self.rate:
                    ahead = moved / self.rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            dst.shutdown(socket.SHUT_WR)  # pass the end of the stream on
        except OSError:
            self._close_pair(src, dst)

    @staticmethod
    def _close_socket(s):
        try:
            # shutdown first: close() alone sends no FIN while another thread sits in recv().
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    @classmethod
    def _close_pair(cls, a, b):
        for s in (a, b):
            cls._close_socket(s)

    def close(self):
        self.closed = True
        with self.lock:
            for s in self.sockets:
                self._close_socket(s)


# ---------------------------------------------------------------------------------------------
# pyftpdlib, for what ferryd can't show: a server without HASH/XMD5, a read-only account

def serve(config):
    import logging
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    logging.basicConfig(level=logging.WARNING)
    authorizer = DummyAuthorizer()
    for user in config["users"]:
        home = os.path.join(config["root"], user["name"])
        os.makedirs(home, exist_ok=True)
        authorizer.add_user(user["name"], user["password"], home, perm=user.get("perm", "elradfmwMT"))
    handler = FTPHandler
    if config.get("tls_cert"):
        from pyftpdlib.handlers import TLS_FTPHandler
        handler = TLS_FTPHandler
        handler.certfile = config["tls_cert"]
        handler.keyfile = config["tls_key"]
    handler.authorizer = authorizer
    server = FTPServer(("127.0.0.1", 0), handler)
    print(server.socket.getsockname()[1], flush=True)
    server.serve_forever(timeout=0.5)


class PyftpdServer:
    def __init__(self, workdir, users=None, tls=None):
        self.root = os.path.join(workdir, "homes")
        os.makedirs(self.root, exist_ok=True)
        self.config = {"root": self.root, "users": users or [{"name": "user", "password": PASSWORD}]}
        if tls:  # (cert.pem, key.pem)
            self.config.update(tls_cert=tls[0], tls_key=tls[1])
        self.host = "127.0.0.1"
        self.log = open(os.path.join(workdir, "pyftpd.log"), "ab")
        self.proc = subprocess.Popen([SERVER_PYTHON, os.path.abspath(__file__), "--serve", json.dumps(self.config)],
                                     stdout=subprocess.PIPE, stderr=self.log)
        # E2E_TIMEOUT_SCALE: under emulation (make test-ktls) Python's start alone took over 15 s
        limit = 15 * int(os.environ.get("E2E_TIMEOUT_SCALE") or 1)
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        if not ready:
            self.close()
            raise RuntimeError("pyftpdlib did not start within %d s" % limit)
        self.port = int(self.proc.stdout.readline())

    def home(self, user="user"):
        return os.path.join(self.root, user)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# the client on a terminal

def _controlling_terminal():
    # A new session whose controlling terminal is the pty on stdin: ^C becomes SIGINT.
    import fcntl
    import termios
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Pty:
    """ferry on a pseudo-terminal (stdin, stdout and stderr), with expect/send."""

    def __init__(self, argv, env, cwd):
        import fcntl
        import termios
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     preexec_fn=_controlling_terminal)
        os.close(slave)
        self.output = b""
        self.seen = 0  # expect() searches after the previous match

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            return None
        self.output += chunk
        return True

    def expect(self, text, timeout=20):
        needle = text.encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            at = self.output.find(needle, self.seen)
            if at >= 0:
                self.seen = at + len(needle)
                return
            if self._read(max(0.0, deadline - time.monotonic())) is None:
                break
        raise AssertionError("did not see %r; output so far:\n%s" % (text, self.text()[-3000:]))

    def send(self, line):
        os.write(self.master, (line + "\n").encode())

    def send_raw(self, data):
        os.write(self.master, data)

    def finish(self, timeout=RUN_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2) is not None:
            pass
        try:
            return self.proc.wait(max(1, deadline - time.monotonic()))
        finally:
            self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        try:
            os.close(self.master)
        except OSError:
            pass

    def text(self):
        return self.output.decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# the test case

class ClientTestCase(unittest.TestCase):
    """One server per test, from make_server() (ferryd unless a subclass says otherwise)."""
    USERS = ["user"]
    QUOTAS = {}
    ADMINS = ()
    CONFIG = {}

    def setUp(self):
        if not os.access(FERRY, os.X_OK):
            self.skipTest("no ferry binary at %s (set FERRY)" % FERRY)
        self.work = tempfile.mkdtemp(prefix="ferry-client-test-")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.local = os.path.join(self.work, "local")
        os.makedirs(self.local)
        self.server = self.make_server()
        self.addCleanup(self.server.close)
        self.port = self.server.port

    def make_server(self):
        return FerrydServer(users=self.USERS, config=self.CONFIG, quotas=self.QUOTAS, admins=self.ADMINS)

    def proxy(self, **options):
        """A proxy in front of the server; the client goes through it while self.port points at it."""
        proxy = FtpProxy(self.server.port, **options)
        self.addCleanup(proxy.close)
        return proxy

    def env(self, **extra):
        env = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=self.work,
                   FERRY_KNOWN_SERVERS=os.path.join(self.work, "known_servers"), TERM="xterm")
        env.update(extra)
        return env

    def base_args(self, user="user", port=None):
        args = [FERRY, "-s", "127.0.0.1", "-P", str(port or self.server.port)]
        return args + (["-u", user] if user else [])

    def ferry(self, commands, *flags, user="user", stdin=None, env=None, port=None):
        argv = self.base_args(user, port) + list(flags)
        if commands is not None:
            argv += ["-c", commands]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=self.local,
                              env=env or self.env(), timeout=RUN_TIMEOUT)

    def spawn(self, commands, *flags, user="user", port=None):
        """ferry -c in the background (stdout/stderr piped); killed at cleanup if still running."""
        argv = self.base_args(user, port) + list(flags) + ["-c", commands]
        proc = subprocess.Popen(argv, cwd=self.local, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(_reap, proc)
        return proc

    def pty(self, *flags, user="user", env=None, port=None):
        term = Pty(self.base_args(user, port) + list(flags), env or self.env(), self.local)
        self.addCleanup(term.close)
        return term

    def assertOk(self, result):
        self.assertEqual(result.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (result.stdout, result.stderr))

    def assertFailed(self, result):
        self.assertNotEqual(result.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (result.stdout, result.stderr))

    def remote(self, name, user="user"):
        return os.path.join(self.server.home(user), name)

    def lpath(self, name):
        return os.path.join(self.local, name)

    def local_file(self, name, size, seed=0):
        return write_random(self.lpath(name), size, seed)


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):
        pass


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(json.loads(sys.argv[2]))
