"""Event hooks (issue 29, part 1) against real components: an HTTP receiver (http.server, in this
test) gets every event of a scripted session, the upload's with the MD5 and SHA-256 ferryd
computed while it streamed; a program gets the event as FERRY_* variables and JSON on stdin, and
one that sleeps past its timeout is killed and logged; a pre_upload program that says no makes
STOR fail with 550 before any byte is written (ftplib and curl); 1,000 uploads against a slow
receiver lose only what the queue's bound drops, and the count says how many; a bad [[hook]]
stops the start with exit 2 naming the line."""
import ftplib
import hashlib
import http.server
import io
import json
import os
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import harness
from harness import FerryServer, quit_quietly, run, server_command

PASSWORD = "alice-pw-123"


class Receiver:
    """An HTTP server on loopback that keeps every JSON body POSTed to it."""

    def __init__(self, delay=0.0):
        self.events = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if delay:
                    time.sleep(delay)
                with outer.lock:
                    outer.events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/ferry" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def of(self, kind):
        with self.lock:
            return [e for e in self.events if e["event"] == kind]

    def wait_for(self, kinds, limit=20):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if all(self.of(k) for k in kinds):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def script(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@harness.skip_on_windows("hooks are POSIX so far: the helper process forks, libcurl is not cross-built (README)")
class HookTests(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ferry-hooks-")
        os.chmod(self.work, 0o755)
        self.addCleanup(subprocess.run, ["rm", "-rf", self.work])

    def test_every_event_of_a_session_reaches_the_receiver_and_the_program(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        record = os.path.join(self.work, "program.out")
        program = script(self.work, "on-upload", 'env | grep ^FERRY_ | sort > "%s.env"\ncat > "%s.json"\n' % (record, record))
        hooks = [{"events": ["upload", "download", "delete", "rename", "mkdir", "rmdir", "login", "login_failed",
                             "logout"], "url": receiver.url, "timeout": 5},
                 {"events": ["upload"], "run": [program, "--flag"], "timeout": 5}]
        data = os.urandom(300000)
        with FerryServer(config={"hook": hooks}, users={"alice": PASSWORD}) as srv:
            ftp = srv.ftp("alice")
            try:
                ftp.mkd("d")
                ftp.storbinary("STOR d/a.bin", io.BytesIO(data))
                self.assertTrue(receiver.wait_for(["upload"]))  # its digests are done before the file goes
                ftp.retrbinary("RETR d/a.bin", lambda block: None)
                ftp.rename("d/a.bin", "d/b.bin")
                ftp.delete("d/b.bin")
                ftp.rmd("d")
            finally:
                quit_quietly(ftp)
            with self.assertRaises(ftplib.error_perm):
                srv.ftp("alice", "wrong-password")
            kinds = ["login", "mkdir", "upload", "download", "rename", "delete", "rmdir", "logout", "login_failed"]
            self.assertTrue(receiver.wait_for(kinds), [e["event"] for e in receiver.events])
        upload = receiver.of("upload")[0]
        self.assertEqual(upload["user"], "alice")
        self.assertEqual(upload["path"], "/d/a.bin")
        self.assertEqual(upload["client"], "127.0.0.1")
        self.assertEqual((upload["bytes"], upload["size"], upload["offset"]), (300000, 300000, 0))
        self.assertIs(upload["complete"], True)
        self.assertEqual(upload["reply"], 226)
        self.assertEqual(upload["digests"], {"md5": hashlib.md5(data).hexdigest(), "sha-256": hashlib.sha256(data).hexdigest()})
        self.assertIsInstance(upload["session"], int)
        self.assertIn("node", upload)
        self.assertEqual(receiver.of("rename")[0]["target"], "/d/b.bin")
        self.assertEqual(receiver.of("download")[0]["bytes"], 300000)
        self.assertEqual(receiver.of("login_failed")[0]["user"], "alice")
        self.assertEqual(receiver.of("mkdir")[0]["reply"], 257)
        # The program: the same event on stdin and as FERRY_* variables.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(record + ".json"):
            time.sleep(0.05)
        time.sleep(0.2)
        with open(record + ".json") as f:
            self.assertEqual(json.loads(f.read())["digests"]["md5"], hashlib.md5(data).hexdigest())
        with open(record + ".env") as f:
            env = f.read()
        self.assertIn("FERRY_EVENT=upload\n", env)
        self.assertIn("FERRY_PATH=/d/a.bin\n", env)
        self.assertIn("FERRY_BYTES=300000\n", env)
        self.assertIn('FERRY_DIGESTS={"md5":"%s"' % hashlib.md5(data).hexdigest(), env)

    def test_quota_and_ban_events(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        config = {"hook": [{"events": ["quota", "ban"], "url": receiver.url}], "default_quota": "2K",
                  "ban_threshold": 2, "max_login_failures": 1}
        with FerryServer(config=config, users={"alice": PASSWORD}) as srv:
            ftp = srv.ftp("alice")
            try:
                with self.assertRaises(ftplib.error_perm):
                    ftp.storbinary("STOR big.bin", io.BytesIO(b"q" * 5000))
            finally:
                quit_quietly(ftp)
            for _ in range(2):
                try:
                    srv.ftp("alice", "wrong-password")
                except (ftplib.error_perm, ftplib.error_temp, OSError, EOFError):
                    pass
            self.assertTrue(receiver.wait_for(["quota", "ban"]), [e["event"] for e in receiver.events])
        quota = receiver.of("quota")[0]
        self.assertEqual((quota["user"], quota["path"], quota["reply"]), ("alice", "/big.bin", 552))
        self.assertEqual(receiver.of("ban")[0]["client"], "127.0.0.1")

    def test_an_aborted_upload_is_reported_cut(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        with FerryServer(config={"hook": [{"events": ["upload"], "url": receiver.url}]}, users={"alice": PASSWORD}) as srv:
            ftp = srv.ftp("alice")
            try:
                conn = ftp.transfercmd("STOR cut.bin")
                conn.sendall(b"c" * 100000)
                time.sleep(0.3)
                ftp.abort()
                conn.close()
            finally:
                quit_quietly(ftp)
            self.assertTrue(receiver.wait_for(["upload"]), receiver.events)
        cut = receiver.of("upload")[0]
        self.assertIs(cut["complete"], False)
        self.assertEqual(cut["reply"], 426)
        self.assertEqual(cut["path"], "/cut.bin")
        self.assertIn("no digests", cut["note"])

    def test_pre_upload_refuses_before_any_byte_ftplib_and_curl(self):
        guard = script(self.work, "pre-upload", 'case "$FERRY_PATH" in *forbidden*) echo "no forbidden files here" >&2; exit 1;; esac\n')
        with FerryServer(config={"hook": [{"events": ["pre_upload"], "run": [guard]}]}, users={"alice": PASSWORD}) as srv:
            ftp = srv.ftp("alice")
            try:
                with self.assertRaises(ftplib.error_perm) as refused:
                    ftp.storbinary("STOR forbidden.txt", io.BytesIO(b"x" * 1000))
                self.assertIn("550 Upload refused: exit 1: no forbidden files here", str(refused.exception))
                ftp.storbinary("STOR fine.txt", io.BytesIO(b"y" * 1000))
            finally:
                quit_quietly(ftp)
            local = os.path.join(self.work, "c.txt")
            with open(local, "wb") as f:
                f.write(b"z" * 100)
            curl = subprocess.run(["curl", "-sS", "-T", local, "ftp://alice:%s@127.0.0.1:%d/forbidden-too.txt" % (PASSWORD, srv.port)],
                                  capture_output=True, text=True, timeout=30)
            self.assertNotEqual(curl.returncode, 0, curl.stdout + curl.stderr)
            home = srv.home("alice")
            self.assertFalse(os.path.exists(os.path.join(home, "forbidden.txt")))
            self.assertFalse(os.path.exists(os.path.join(home, "forbidden-too.txt")))
            self.assertTrue(os.path.exists(os.path.join(home, "fine.txt")))
            self.assertTrue(srv.wait_log(r"refused by a pre_upload hook: exit 1: no forbidden files here"))

    def test_a_hook_past_its_timeout_is_killed_and_logged(self):
        slow = script(self.work, "slow", "sleep 30\n")
        with FerryServer(config={"hook": [{"events": ["login"], "run": [slow], "timeout": 1}]}, users={"alice": PASSWORD}) as srv:
            started = time.monotonic()
            quit_quietly(srv.ftp("alice"))
            self.assertLess(time.monotonic() - started, 5)  # the login never waited for it
            self.assertTrue(srv.wait_log(r"hook of line \d+ \(.*slow\) on login \(alice\): killed after 1 s \(timeout\)", wait=15),
                            srv.log_text()[-2000:])

    def test_a_slow_receiver_loses_only_what_the_queue_bound_drops(self):
        receiver = Receiver(delay=0.01)
        self.addCleanup(receiver.close)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            metrics_port = s.getsockname()[1]
        config = {"hook": [{"events": ["upload"], "url": receiver.url}], "hook_concurrency": 1, "hook_queue": 100,
                  "upload_digests": [], "metrics_listen": "127.0.0.1:%d" % metrics_port}
        total = 1000
        with FerryServer(config=config, users={"alice": PASSWORD}) as srv:
            ftp = srv.ftp("alice")
            try:
                for i in range(total):
                    ftp.storbinary("STOR f%04d" % i, io.BytesIO(b"u"))
            finally:
                quit_quietly(ftp)
            deadline = time.monotonic() + 60
            dropped = None
            while time.monotonic() < deadline:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port, timeout=10) as r:
                    text = r.read().decode()
                dropped = int(float(text.split("\nferry_hook_events_dropped_total ")[1].split()[0]))
                if len(receiver.of("upload")) + dropped == total:
                    break
                time.sleep(0.2)
            received = len(receiver.of("upload"))
            self.assertEqual(received + dropped, total, (received, dropped))
            self.assertGreater(dropped, 0)  # the receiver was slower than the uploads
            self.assertTrue(srv.wait_log(r"hooks: the queue is full \(hook_queue = 100\)"))

    def test_a_bad_hook_table_stops_the_start_naming_the_line(self):
        cases = [('hook = [{events = ["upload", "uplaod"], url = "http://127.0.0.1:1/"}]', 'unknown event "uplaod"'),
                 ('hook = [{events = ["upload"], url = "http://127.0.0.1:1/", run = ["/bin/true"]}]', "exactly one of run and url"),
                 ('hook = [{events = ["upload"]}]', "exactly one of run and url"),
                 ('hook = [{events = ["upload"], run = ["on-upload"]}]', "absolute program path")]
        for line, said in cases:
            with self.subTest(said=said), tempfile.TemporaryDirectory() as folder:
                config = os.path.join(folder, "ferryd.toml")
                with open(config, "w") as f:
                    f.write('listen = ["127.0.0.1:0"]\nroot = "%s/homes"\n\n%s\n' % (folder, line))
                p = run(server_command() + ["--config", config], timeout=30)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn(said, p.stderr)
                self.assertIn("ferryd.toml:4)", p.stderr)


if __name__ == "__main__":
    unittest.main()
