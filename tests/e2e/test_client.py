"""End-to-end tests of the `ferry` client (issue 7).

The client is driven with -c, with stdin, and through a pseudo-terminal (menu, prompts, the
progress bar). The server under test comes from make_server(): today a pyftpdlib server, run by this
same file as a subprocess (`/usr/bin/python3 test_client.py --serve CONFIG`), optionally extended
with HASH / OPTS HASH / RANG (draft-bryan-ftpext-hash-02), AVBL, SITE REGISTER and SITE QUOTA.
Once ferryd is ready, make_server() is the one place to return tests/e2e/harness.py's FerryServer
instead (it needs the same small interface: host, port, home(user), kill(), restart(), stop()).

Run:  FERRY=bin/ferry python3 -m unittest tests/e2e/test_client.py   (FERRY defaults to bin/ferry)
"""
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.path.abspath(os.environ.get("FERRY", os.path.join(REPO, "bin", "ferry")))
# pyftpdlib is a Debian package for the system interpreter (another python3 may not see it).
SERVER_PYTHON = os.environ.get("PYFTPD_PYTHON", "/usr/bin/python3")
RUN_TIMEOUT = 60  # seconds for one ferry run; every wait in this file is bounded


# ---------------------------------------------------------------------------------------------
# The server side: runs in a separate /usr/bin/python3 process.

def serve(config):
    import logging
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
    from pyftpdlib.servers import FTPServer

    logging.basicConfig(level=logging.WARNING)
    root = config["root"]
    quotas = {}
    authorizer = DummyAuthorizer()

    def add_user(name, password, quota, perm="elradfmwMT"):
        home = os.path.join(root, name)
        os.makedirs(home, exist_ok=True)
        authorizer.add_user(name, password, home, perm=perm)
        quotas[name] = quota

    for user in config["users"]:
        add_user(user["name"], user["password"], user.get("quota", 100 << 20), user.get("perm", "elradfmwMT"))

    def used_bytes(home):
        total = 0
        for folder, _, files in os.walk(home):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(folder, name))
                except OSError:
                    pass
        return total

    hash_names = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}

    class ExtendedHandler(FTPHandler):
        """HASH/RANG per draft-bryan-ftpext-hash-02 and draft-bryan-ftp-range (end point inclusive)."""
        proto_cmds = FTPHandler.proto_cmds.copy()
        proto_cmds.update({
            "HASH": dict(perm="r", auth=True, arg=True, help="Syntax: HASH <SP> path"),
            "RANG": dict(perm=None, auth=True, arg=True, help="Syntax: RANG <SP> start <SP> end"),
            "AVBL": dict(perm=None, auth=True, arg=None, help="Syntax: AVBL [<SP> path]"),
            "SITE REGISTER": dict(perm=None, auth=False, arg=True, help="Syntax: SITE REGISTER name password [quota]"),
            "SITE QUOTA": dict(perm=None, auth=True, arg=None, help="Syntax: SITE QUOTA"),
        })

        def __init__(self, conn, server, ioloop=None):
            super().__init__(conn, server, ioloop)
            self._hash_algo = "SHA-256"
            self._range = None
            self._update_feats()

        def _update_feats(self):
            listed = ";".join(n + ("*" if n == self._hash_algo else "") for n in hash_names)
            self._extra_feats = ["HASH " + listed, "RANG STREAM", "AVBL"]

        def ftp_OPTS(self, line):
            words = line.split()
            if not words or words[0].upper() != "HASH":
                return super().ftp_OPTS(line)
            if len(words) == 1:
                return self.respond("200 " + self._hash_algo)
            name = words[1].upper()
            if name not in hash_names:
                return self.respond("501 Unknown algorithm, current selection not changed")
            self._hash_algo = name
            self._update_feats()
            self.respond("200 " + name)

        def ftp_RANG(self, line):
            try:
                start, end = (int(x) for x in line.split())
            except ValueError:
                return self.respond("501 Syntax: RANG start end")
            if (start, end) == (1, 0):
                self._range = None
                return self.respond("350 Range reset.")
            if start > end:
                self._range = None
                return self.respond("501 Start is after end; range reset.")
            self._range = (start, end)
            self.respond("350 Range %d-%d saved; end point inclusive." % (start, end))

        def ftp_HASH(self, path):
            rng, self._range = self._range, None  # a range applies to the next HASH only
            if not os.path.isfile(path):
                return self.respond("550 No such file.")
            size = os.path.getsize(path)
            start, end = rng if rng else (0, max(size - 1, 0))
            end = min(end, max(size - 1, 0))
            digest = hashlib.new(hash_names[self._hash_algo])
            with open(path, "rb") as f:
                f.seek(start)
                left = end - start + 1 if size else 0
                while left > 0:
                    block = f.read(min(left, 1 << 20))
                    if not block:
                        break
                    digest.update(block)
                    left -= len(block)
            self.respond("213 %s %d-%d %s %s" % (self._hash_algo, start, end, digest.hexdigest(),
                                                self.fs.fs2ftp(path)))

        def _quota(self):
            limit = quotas.get(self.username, 100 << 20)
            return limit, used_bytes(self.authorizer.get_home_dir(self.username))

        def ftp_AVBL(self, line):
            limit, used = self._quota()
            self.respond("213 %d" % max(limit - used, 0))

        def ftp_SITE_QUOTA(self, line):
            limit, used = self._quota()
            self.respond("200 %s uses %d of %d bytes (%d free)." % (self.username, used, limit, max(limit - used, 0)))

        def ftp_SITE_REGISTER(self, line):
            words = line.split()
            if len(words) not in (2, 3):
                return self.respond("501 Syntax: SITE REGISTER name password [quota-bytes]")
            name, password = words[0], words[1]
            if authorizer.has_user(name):
                return self.respond("550 User %s already exists." % name)
            add_user(name, password, int(words[2]) if len(words) == 3 else 100 << 20)
            self.respond("200 User %s created." % name)

        def on_file_received(self, file):
            # The "corrupted on the server" case for the verification test.
            if "corrupt" in os.path.basename(file):
                with open(file, "r+b") as f:
                    first = f.read(1)
                    f.seek(0)
                    f.write(bytes([(first[0] ^ 0xFF) if first else 0x41]))

    handler = ExtendedHandler if config.get("hash", True) else FTPHandler
    if config.get("tls_cert"):
        from pyftpdlib.handlers import TLS_FTPHandler

        class TlsHandler(TLS_FTPHandler):
            pass
        TlsHandler.certfile = config["tls_cert"]
        TlsHandler.keyfile = config["tls_key"]
        handler = TlsHandler
    if config.get("read_limit") and not config.get("tls_cert"):
        class SlowDTP(ThrottledDTPHandler):
            read_limit = config["read_limit"]
            write_limit = config["read_limit"]
        handler.dtp_handler = SlowDTP
    handler.authorizer = authorizer
    server = FTPServer(("127.0.0.1", config.get("port", 0)), handler)
    print(server.socket.getsockname()[1], flush=True)
    server.serve_forever(timeout=0.5)


# ---------------------------------------------------------------------------------------------
# The test side.

class PyftpdServer:
    """A pyftpdlib server on loopback; killed at the end (bounded waits everywhere)."""

    def __init__(self, workdir, hash=True, users=None, tls=False, read_limit=0):
        self.root = os.path.join(workdir, "homes")
        os.makedirs(self.root, exist_ok=True)
        self.users = users or [{"name": "user", "password": "pass"}]
        self.config = {"root": self.root, "users": self.users, "hash": hash, "read_limit": read_limit}
        if tls:
            self.config.update(self._make_certificate(workdir))
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.log = open(os.path.join(workdir, "server.log"), "ab")
        self.start()

    @staticmethod
    def _make_certificate(workdir):
        cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        return {"tls_cert": cert, "tls_key": key}

    def start(self):
        if self.port:
            self.config["port"] = self.port  # a restart keeps the address
        self.proc = subprocess.Popen([SERVER_PYTHON, os.path.abspath(__file__), "--serve", json.dumps(self.config)],
                                     stdout=subprocess.PIPE, stderr=self.log)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        if not ready:
            self.stop()
            raise RuntimeError("pyftpdlib did not start within 15 s")
        self.port = int(self.proc.stdout.readline())

    def home(self, user="user"):
        return os.path.join(self.root, user)

    def kill(self):
        """SIGKILL: the 'server died mid-transfer' case."""
        self.proc.kill()
        self.proc.wait(10)

    def restart(self, **changes):
        self.stop()
        self.config.update(changes)
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def close(self):
        self.stop()
        self.log.close()


def make_server(workdir, kind="hash", **options):
    """The server under test. kind: "hash" (HASH/RANG/AVBL/SITE extensions) or "plain" (stock
    pyftpdlib). Swap in harness.FerryServer here when ferryd is ready."""
    return PyftpdServer(workdir, hash=(kind != "plain"), **options)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_random(path, size, seed=0):
    import random
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))


class Pty:
    """ferry on a pseudo-terminal (stdin, stdout and stderr), with expect/send."""

    def __init__(self, argv, env, cwd):
        import fcntl
        import termios
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     start_new_session=True)
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


class ClientTestCase(unittest.TestCase):
    server_kind = "hash"
    server_options = {}

    def setUp(self):
        if not os.access(FERRY, os.X_OK):
            self.skipTest("no ferry binary at %s (set FERRY)" % FERRY)
        self.work = tempfile.mkdtemp(prefix="ferry-client-test-")
        self.local = os.path.join(self.work, "local")
        os.makedirs(self.local)
        self.server = make_server(self.work, self.server_kind, **self.server_options)
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.addCleanup(self.server.close)

    def env(self, **extra):
        env = dict(os.environ, FERRY_PASSWORD="pass", HOME=self.work,
                   FERRY_KNOWN_SERVERS=os.path.join(self.work, "known_servers"), TERM="xterm")
        env.update(extra)
        return env

    def base_args(self, user="user"):
        args = [FERRY, "-s", self.server.host, "-P", str(self.server.port)]
        return args + (["-u", user] if user else [])

    def ferry(self, commands, *flags, user="user", stdin=None, env=None):
        argv = self.base_args(user) + list(flags)
        if commands is not None:
            argv += ["-c", commands]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=self.local,
                              env=env or self.env(), timeout=RUN_TIMEOUT)

    def pty(self, *flags, user="user", env=None):
        return Pty(self.base_args(user) + list(flags), env or self.env(), self.local)

    def assertOk(self, result):
        self.assertEqual(result.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (result.stdout, result.stderr))

    def assertFailed(self, result):
        self.assertNotEqual(result.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (result.stdout, result.stderr))

    def remote(self, name, user="user"):
        return os.path.join(self.server.home(user), name)

    def local_file(self, name, size, seed=0):
        path = os.path.join(self.local, name)
        write_random(path, size, seed)
        return path


class CommandTests(ClientTestCase):
    def test_every_command_in_batch(self):
        self.local_file("a.bin", 3 << 20, seed=1)
        result = self.ferry("pwd; mkdir docs; cd docs; pwd; put a.bin; ls; ls -l; get a.bin back.bin; "
                            "hash a.bin; hash --algo sha256 a.bin; quota; mv a.bin b.bin; ls; rm b.bin; "
                            "cd ..; rmdir docs; ls; help; quit")
        self.assertOk(result)
        out = result.stdout
        self.assertIn("/docs", out)
        self.assertIn("-rw", out)  # ls -l
        self.assertEqual(out.count("verified MD5"), 2, out)
        self.assertIn("SHA-256 " + sha256_of(os.path.join(self.local, "a.bin")), out)
        with open(os.path.join(self.local, "a.bin"), "rb") as f:
            self.assertIn("MD5 " + hashlib.md5(f.read()).hexdigest(), out)
        self.assertIn("uses", out)  # SITE QUOTA's words
        self.assertIn("b.bin", out)
        self.assertEqual(sha256_of(os.path.join(self.local, "a.bin")), sha256_of(os.path.join(self.local, "back.bin")))
        self.assertFalse(os.path.exists(self.remote("docs")))
        self.assertNotIn("ETA", result.stderr)  # no bar in a pipe

    def test_refusals_are_clear_and_fail_the_run(self):
        result = self.ferry("rm nosuch.txt; cd nowhere; get nosuch.txt; pwd")
        self.assertFailed(result)
        self.assertIn("rm nosuch.txt: not found or no permission (550", result.stderr)
        self.assertIn("cd nowhere: not found or no permission (550", result.stderr)
        self.assertIn("get nosuch.txt", result.stderr)
        self.assertIn("/", result.stdout)  # later commands still ran
        self.assertFalse(os.path.exists(os.path.join(self.local, "nosuch.txt")))

    def test_unknown_command_and_usage(self):
        result = self.ferry("frobnicate; put")
        self.assertFailed(result)
        self.assertIn("unknown command 'frobnicate'", result.stderr)
        self.assertIn("usage: put LOCAL [REMOTE]", result.stderr)

    def test_commands_on_stdin_with_password_stdin(self):
        self.local_file("s.bin", 100000, seed=2)
        result = self.ferry(None, "--password-stdin", stdin="pass\nput s.bin\nls\n# a comment\nquit\n",
                            env=self.env(FERRY_PASSWORD="wrong"))
        self.assertOk(result)
        self.assertIn("s.bin", result.stdout)
        self.assertTrue(os.path.exists(self.remote("s.bin")))

    def test_wrong_password(self):
        result = self.ferry("pwd", env=self.env(FERRY_PASSWORD="nope"))
        self.assertFailed(result)
        self.assertIn("login as user", result.stderr)

    def test_url_form_starts_in_the_directory(self):
        os.makedirs(self.remote("sub"))
        argv = [FERRY, "ftp://user@127.0.0.1:%d/sub" % self.server.port, "-c", "pwd"]
        result = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=RUN_TIMEOUT)
        self.assertOk(result)
        self.assertIn("/sub\n", result.stdout)

    def test_verification_catches_a_corrupted_remote_file(self):
        self.local_file("corrupt.bin", 200000, seed=3)
        result = self.ferry("put corrupt.bin", "--hash", "sha256")
        self.assertFailed(result)
        self.assertIn("verification FAILED", result.stderr)
        local = sha256_of(os.path.join(self.local, "corrupt.bin"))
        server = sha256_of(self.remote("corrupt.bin"))
        self.assertIn(local, result.stderr)
        self.assertIn(server, result.stderr)

    def test_get_resumes_a_shorter_local_file(self):
        write_random(self.remote("r.bin"), 2 << 20, seed=4)
        with open(self.remote("r.bin"), "rb") as f:
            prefix = f.read(700000)
        with open(os.path.join(self.local, "r.bin"), "wb") as f:
            f.write(prefix)
        result = self.ferry("get r.bin", "--hash", "sha256")
        self.assertOk(result)
        self.assertIn("match", result.stdout)
        self.assertIn("resumed, received", result.stdout)
        self.assertIn("verified SHA-256", result.stdout)
        self.assertEqual(sha256_of(self.remote("r.bin")), sha256_of(os.path.join(self.local, "r.bin")))


class QuotaTests(ClientTestCase):
    server_options = {"users": [{"name": "user", "password": "pass", "quota": 1 << 20},
                                {"name": "reader", "password": "pass", "perm": "elr"}]}

    def test_quota_exceeded_names_the_numbers(self):
        self.local_file("big.bin", 2 << 20, seed=5)
        result = self.ferry("quota; put big.bin")
        self.assertFailed(result)
        self.assertIn("quota exceeded", result.stderr)
        self.assertIn("2097152 bytes", result.stderr)
        self.assertIn("1048576 bytes", result.stderr)
        self.assertIn("of 1048576 bytes", result.stdout)  # quota command
        self.assertFalse(os.path.exists(self.remote("big.bin")))

    def test_permission_refusal(self):
        self.local_file("x.bin", 1000)
        result = self.ferry("put x.bin; mkdir d", user="reader")
        self.assertFailed(result)
        self.assertIn("no permission", result.stderr)


class ResumeTests(ClientTestCase):
    def make_partial_remote(self, name, size, keep, seed=6):
        path = self.local_file(name, size, seed)
        with open(path, "rb") as f, open(self.remote(name), "wb") as out:
            out.write(f.read(keep))
        return path

    def test_cut_upload_is_resumed_with_identical_sha256(self):
        self.server.restart(read_limit=1 << 20)  # 1 MiB/s, so the upload can be cut midway
        path = self.local_file("cut.bin", 6 << 20, seed=7)
        argv = self.base_args() + ["--hash", "sha256", "-c", "put cut.bin"]
        proc = subprocess.Popen(argv, cwd=self.local, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(self.remote("cut.bin")) and os.path.getsize(self.remote("cut.bin")) > (1 << 20):
                break
            time.sleep(0.05)
        self.server.kill()
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertNotEqual(proc.returncode, 0, out + err)
        self.assertIn("interrupted", err)
        self.assertIn("again to resume", err)
        partial = os.path.getsize(self.remote("cut.bin"))
        self.assertTrue(0 < partial < (6 << 20), partial)

        self.server.restart(read_limit=0)
        result = self.ferry("put cut.bin", "--hash", "sha256")  # batch default: resume when proven
        self.assertOk(result)
        self.assertIn("match", result.stdout)
        self.assertIn("resumed, sent", result.stdout)
        self.assertIn("verified SHA-256", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(self.remote("cut.bin")))

    def test_cut_download_leaves_the_partial_file_and_is_resumed(self):
        self.server.restart(read_limit=1 << 20)
        write_random(self.remote("down.bin"), 6 << 20, seed=14)
        target = os.path.join(self.local, "down.bin")
        argv = self.base_args() + ["-c", "get down.bin"]
        proc = subprocess.Popen(argv, cwd=self.local, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(target) and os.path.getsize(target) > (1 << 20):
                break
            time.sleep(0.05)
        self.server.kill()
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertNotEqual(proc.returncode, 0, out + err)
        self.assertIn("partial file stays at", err)
        self.assertIn("get down.bin", err)
        self.assertTrue(0 < os.path.getsize(target) < (6 << 20))

        self.server.restart(read_limit=0)
        result = self.ferry("get down.bin")
        self.assertOk(result)
        self.assertIn("resumed, received", result.stdout)
        self.assertIn("verified MD5", result.stdout)
        self.assertEqual(sha256_of(self.remote("down.bin")), sha256_of(target))

    def test_changed_local_file_is_not_resumed_onto(self):
        path = self.make_partial_remote("c.bin", 3 << 20, 1 << 20)
        write_random(path, 3 << 20, seed=99)  # the local file changed since
        before = sha256_of(self.remote("c.bin"))
        result = self.ferry("put c.bin", "--resume")
        self.assertOk(result)
        self.assertIn("DIFFER", result.stdout)
        self.assertIn("overwriting", result.stdout)
        self.assertNotIn("resumed", result.stdout)
        self.assertNotEqual(before, sha256_of(self.remote("c.bin")))
        self.assertEqual(sha256_of(path), sha256_of(self.remote("c.bin")))

    def test_skip_flag_leaves_files_as_they_were(self):
        self.make_partial_remote("k.bin", 2 << 20, 500000)
        before = sha256_of(self.remote("k.bin"))
        result = self.ferry("put k.bin", "--skip")
        self.assertOk(result)
        self.assertIn("skipped", result.stdout)
        self.assertEqual(before, sha256_of(self.remote("k.bin")))

    def test_interactive_skip_leaves_files_as_they_were(self):
        self.make_partial_remote("i.bin", 2 << 20, 500000)
        remote_before = sha256_of(self.remote("i.bin"))
        write_random(self.remote("g.bin"), 1 << 20, seed=8)
        with open(self.remote("g.bin"), "rb") as f, open(os.path.join(self.local, "g.bin"), "wb") as out:
            out.write(f.read(1000))
        local_before = sha256_of(os.path.join(self.local, "g.bin"))

        term = self.pty()
        term.expect("[user]# ")
        term.send("put i.bin")
        term.expect("resume / overwrite / skip? [resume] ")
        term.send("skip")
        term.expect("skipped")
        term.expect("[user]# ")
        term.send("get g.bin")
        term.expect("resume / overwrite / skip? [resume] ")
        term.send("s")
        term.expect("skipped")
        term.expect("[user]# ")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertEqual(remote_before, sha256_of(self.remote("i.bin")))
        self.assertEqual(local_before, sha256_of(os.path.join(self.local, "g.bin")))

    def test_interactive_resume_answer(self):
        path = self.make_partial_remote("j.bin", 2 << 20, 300000)
        term = self.pty("--progress=none")
        term.expect("[user]# ")
        term.send("put j.bin")
        term.expect("resume / overwrite / skip? [resume] ")
        term.send("")
        term.expect("verified MD5")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertIn("resumed, sent", term.text())
        self.assertEqual(sha256_of(path), sha256_of(self.remote("j.bin")))


class TerminalTests(ClientTestCase):
    def test_menu_create_user_then_log_in(self):
        term = self.pty(user=None, env=self.env(FERRY_PASSWORD=""))
        term.expect("1. create user  2. log in  3. quit")
        term.send("1")
        term.expect("name: ")
        term.send("alice")
        term.expect("password: ")
        term.send("s3cret")
        term.expect("password again: ")
        term.send("s3cret")
        term.expect("quota")
        term.send("0.1G")
        term.expect("[alice]# ")
        term.send("quota")
        term.expect("of 107374182 bytes")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertNotIn("s3cret", term.text())  # never echoed

        term = self.pty(user=None, env=self.env(FERRY_PASSWORD=""))
        term.expect("3. quit")
        term.send("2")
        term.expect("name: ")
        term.send("alice")
        term.expect("password: ")
        term.send("s3cret")
        term.expect("[alice]# ")
        term.send("pwd")
        term.expect("/")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())

    def test_menu_quit_and_mismatched_passwords(self):
        term = self.pty(user=None)
        term.expect("3. quit")
        term.send("1")
        term.expect("name: ")
        term.send("bob")
        term.expect("password: ")
        term.send("one")
        term.expect("password again: ")
        term.send("two")
        term.expect("differ")
        term.expect("3. quit")
        term.send("3")
        self.assertEqual(term.finish(), 0, term.text())
        self.assertFalse(os.path.exists(self.server.home("bob")))

    def test_password_asked_without_echo_and_bar_on_a_terminal(self):
        self.server.restart(read_limit=4 << 20)  # a transfer long enough to draw the bar
        self.local_file("bar.bin", 3 << 20, seed=9)
        term = self.pty(env=self._env_without_password())
        term.expect("password for user: ")
        term.send("pass")
        term.expect("[user]# ")
        term.send("put bar.bin")
        term.expect("verified MD5")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())
        text = term.text()
        self.assertIn("ETA", text)
        self.assertIn("%", text)
        self.assertIn("\r\x1b[K", text)  # the bar is erased at the end
        self.assertNotIn("pass\r\n[user]", text)  # the password was not echoed

    def _env_without_password(self):
        env = self.env()
        env.pop("FERRY_PASSWORD", None)
        return env

    def test_no_bar_in_a_pipe_and_plain_lines_on_request(self):
        self.server.restart(read_limit=2 << 20)
        self.local_file("p.bin", 6 << 20, seed=10)
        result = self.ferry("put p.bin; rm p.bin")
        self.assertOk(result)
        self.assertNotIn("ETA", result.stderr)
        self.assertNotIn("\r", result.stderr)
        # Downloads show the server's pace (an upload mostly fills socket buffers at first).
        shutil.copy(os.path.join(self.local, "p.bin"), self.remote("p.bin"))
        result = self.ferry("get p.bin back.bin", "--progress=plain")
        self.assertOk(result)
        self.assertIn("ETA", result.stderr)
        self.assertNotIn("\r", result.stderr)


class PlainServerTests(ClientTestCase):
    server_kind = "plain"

    def test_warns_once_and_still_works(self):
        self.local_file("w.bin", 1 << 20, seed=11)
        result = self.ferry("put w.bin; get w.bin back.bin; put w.bin w2.bin")
        self.assertOk(result)
        self.assertEqual(result.stderr.count("neither HASH nor XMD5"), 1, result.stderr)
        self.assertIn("checked by size", result.stderr)
        self.assertEqual(sha256_of(os.path.join(self.local, "w.bin")), sha256_of(os.path.join(self.local, "back.bin")))

    def test_unprovable_prefix_is_overwritten_unless_resume_is_given(self):
        path = self.local_file("u.bin", 2 << 20, seed=12)
        with open(path, "rb") as f, open(self.remote("u.bin"), "wb") as out:
            out.write(f.read(100000))
        result = self.ferry("put u.bin")
        self.assertOk(result)
        self.assertIn("can't be proven", result.stdout)
        self.assertNotIn("resumed", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(self.remote("u.bin")))

        with open(path, "rb") as f, open(self.remote("u.bin"), "wb") as out:
            out.write(f.read(100000))
        result = self.ferry("put u.bin", "--resume")
        self.assertOk(result)
        self.assertIn("resumed, sent", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(self.remote("u.bin")))


class TlsTests(ClientTestCase):
    server_kind = "plain"
    server_options = {"tls": True}

    def test_tls_with_insecure_and_fingerprint_on_first_use(self):
        self.local_file("t.bin", 1 << 20, seed=13)
        result = self.ferry("put t.bin; ls; get t.bin back.bin", "--tls", "--insecure")
        self.assertOk(result)
        self.assertIn("fingerprint", result.stderr)
        self.assertEqual(sha256_of(os.path.join(self.local, "t.bin")), sha256_of(os.path.join(self.local, "back.bin")))
        again = self.ferry("ls", "--tls", "--insecure")
        self.assertOk(again)
        self.assertNotIn("fingerprint", again.stderr)

    def test_self_signed_certificate_is_refused_without_insecure(self):
        result = self.ferry("ls", "--tls")
        self.assertFailed(result)
        self.assertIn("certificate not trusted", result.stderr)
        self.assertIn("--insecure", result.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(json.loads(sys.argv[2]))
    else:
        unittest.main()
