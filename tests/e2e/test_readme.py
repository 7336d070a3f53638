"""The README's first commands, exactly as printed: `ferryd` with the embedded default (what `make
run` starts) prints the demo user's password with commands for curl, lftp and ferry; the README
shows the same lines with PASSWORD; each one works as shown against that server."""
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from client_support import Pty
from harness import REPO, STOP_SIGNAL, ferry_client_path, run, server_command, skip_unless_ferryd

PORT = 2121  # the embedded default's, which the README's lines name


def readme_commands():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- demo-commands -->\s*```sh\n(.*?)```\s*<!-- /demo-commands -->", text, re.S)
    if not m:
        raise AssertionError("README.md has no <!-- demo-commands --> block")
    return [line for line in m.group(1).splitlines() if line.strip()]


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@skip_unless_ferryd("runs ferryd's embedded default")
class ReadmeFirstCommandsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not port_free(PORT):
            raise unittest.SkipTest("127.0.0.1:%d is taken: the README's commands name that port" % PORT)
        cls.work = tempfile.mkdtemp(prefix="ferry-e2e-readme-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        cls.out = open(os.path.join(cls.work, "stdout"), "w+")
        cls.proc = subprocess.Popen(server_command(), cwd=cls.work, stdin=subprocess.DEVNULL, stdout=cls.out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        cls.addClassCleanup(cls.stop)
        deadline = time.monotonic() + 15
        while "listening on 127.0.0.1:%d" % PORT not in cls.output():
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the embedded default did not start:\n" + cls.output())
            time.sleep(0.05)
        m = re.search(r'user "demo", password "([^"]+)"', cls.output())
        if not m:
            raise AssertionError("no demo password printed:\n" + cls.output())
        cls.password = m.group(1)
        cls.printed = [line.strip() for line in cls.output().splitlines() if line.startswith("    ")]

    @classmethod
    def output(cls):
        cls.out.seek(0)
        return cls.out.read()

    @classmethod
    def stop(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(STOP_SIGNAL)
            try:
                cls.proc.wait(10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()
        cls.out.close()

    def run_line(self, line):
        """Runs a printed line as a shell user would type it; interactive clients get `ls`."""
        argv = shlex.split(line)
        if argv[0] == "bin/ferry":
            argv[0] = ferry_client_path()  # the build under test (bin/ferry, or the SAN build)
        env = dict(os.environ, HOME=self.work)
        env.pop("FERRY_PASSWORD", None)
        p = run(argv, timeout=60, input=b"ls\nquit\n", env=env, cwd=REPO)
        self.assertEqual(p.returncode, 0, "%s\nstdout: %s\nstderr: %s" % (line, p.stdout, p.stderr))
        self.assertIn("README.txt", p.stdout, line)

    def test_the_readme_shows_what_the_server_prints(self):
        self.assertEqual([line.replace("PASSWORD", self.password) for line in readme_commands()], self.printed)

    def test_each_printed_command_works_as_shown(self):
        self.assertGreaterEqual(len(self.printed), 4, self.output())
        for line in self.printed:
            with self.subTest(line=line):
                self.run_line(line)

    def test_self_registration_is_open_on_the_embedded_default(self):
        """The menu's "1. create user" works against `make run` as it starts (on a terminal)."""
        term = Pty([ferry_client_path(), "-s", "127.0.0.1", "-P", str(PORT)], dict(os.environ, HOME=self.work),
                   self.work)
        self.addCleanup(term.close)
        term.expect("3. quit")
        term.send("1")
        term.expect("name: ")
        term.send("newbie")
        term.expect("password: ")
        term.send("newbie-pass-1")
        term.expect("password again: ")
        term.send("newbie-pass-1")
        term.expect("quota")
        term.send("")
        term.expect("[newbie]# ")
        term.send("quit")
        self.assertEqual(term.finish(), 0, term.text())


def readme_block(name):
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- %s -->\s*```sh\n(.*?)```\s*<!-- /%s -->" % (name, name), text, re.S)
    if not m:
        raise AssertionError("README.md has no <!-- %s --> block" % name)
    return [line for line in m.group(1).splitlines() if line.strip()]


@skip_unless_ferryd("the access policy is ferryd's")
class ReadmePolicyExampleTests(unittest.TestCase):
    """The README's access-policy example, line by line, then what it says the accounts may do."""

    def test_worked_example(self):
        import ftplib
        from harness import FerryServer, quit_quietly, stor_bytes
        users = {name: name + "-pw-123" for name in ("ann", "ben", "cat", "auditor", "dropbox")}
        with FerryServer(users=users) as srv:
            for line in readme_block("policy-example"):
                words = shlex.split(line)
                self.assertEqual(words[0], "bin/ferryd", line)
                p = run(server_command() + ["--config", srv.config_path] + words[1:], cwd=srv.tmp)
                self.assertEqual(p.returncode, 0, "%s: %s %s" % (line, p.stdout, p.stderr))
            self.assertIn("/archive = all   (cat)", p.stdout)  # the last line: user show cat
            for name in ("ann", "cat"):
                os.makedirs(os.path.join(srv.home(name), "archive"), exist_ok=True)
            ann, cat = srv.ftp("ann"), srv.ftp("cat")
            try:
                with self.assertRaises(ftplib.error_perm):
                    stor_bytes(ann, "archive/x.txt", b"x")
                stor_bytes(ann, "notes.txt", b"x")
                stor_bytes(cat, "archive/x.txt", b"x")
            finally:
                quit_quietly(ann)
                quit_quietly(cat)
            # One shared folder for the team; the auditor reads it.
            ann, ben = srv.ftp("ann"), srv.ftp("ben")
            try:
                stor_bytes(ann, "/projects/plan.txt", b"plan")
                self.assertIn("projects", [os.path.basename(n) for n in ben.nlst("/")])
                self.assertIn("plan.txt", [os.path.basename(n) for n in ben.nlst("/projects")])
                with open(os.path.join(srv.tmp, "shared", "projects", "plan.txt"), "rb") as f:
                    self.assertEqual(f.read(), b"plan")
            finally:
                quit_quietly(ann)
                quit_quietly(ben)
            auditor, dropbox = srv.ftp("auditor"), srv.ftp("dropbox")
            try:
                with self.assertRaises(ftplib.error_perm):
                    stor_bytes(auditor, "x.txt", b"x")
                with self.assertRaises(ftplib.error_perm):
                    stor_bytes(auditor, "/projects/x.txt", b"x")
                auditor.nlst("/projects")
                auditor.nlst()
                stor_bytes(dropbox, "in.txt", b"x")
                with self.assertRaises(ftplib.error_perm):
                    dropbox.nlst()
            finally:
                quit_quietly(auditor)
                quit_quietly(dropbox)


class ReadmeClientExampleTests(unittest.TestCase):
    """The README's client example, typed at ferry's prompt (stdin) against ferryd."""

    def test_worked_example(self):
        from client_support import FERRY, PASSWORD, FerrydServer, sha256_of, write_random
        if not os.access(FERRY, os.X_OK):
            self.skipTest("no ferry binary at %s" % FERRY)
        work = tempfile.mkdtemp(prefix="ferry-readme-client-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        album = os.path.join(work, "album")
        os.makedirs(album)
        for n, name in enumerate(("day1.txt", "day2.txt", "day3.txt", "photo.jpg")):
            write_random(os.path.join(album, name), 3000 + 1000 * n, seed=n)
        server = FerrydServer(users=["alice"])
        self.addCleanup(server.close)
        lines = readme_block("client-example")
        env = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=work)
        p = subprocess.run([FERRY, "-s", "127.0.0.1", "-P", str(server.port), "-u", "alice"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, cwd=work, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = p.stdout
        self.assertIn("put -r: 4 transferred", out)
        self.assertIn("nothing to transfer: 4 files unchanged (compared by MD5)", out)
        self.assertIn("would send day1.txt (partial: resumed if its prefix is proven", out)
        self.assertIn("the first 2.9 KiB (3000 bytes) match", out)
        self.assertIn("sync up: 1 transferred", out)
        self.assertIn("deleted day3.txt", out)
        self.assertIn("get -r: 3 transferred", out)
        self.assertIn("mput: 2 transferred", out)
        self.assertIn("mget: 1 transferred", out)
        remote = os.path.join(server.home("alice"), "photos", "2026")
        self.assertEqual(sorted(os.listdir(remote)), ["day1.txt", "day2.txt", "photo.jpg"])
        for name in ("day1.txt", "day2.txt", "photo.jpg"):
            self.assertEqual(sha256_of(os.path.join(album, name)), sha256_of(os.path.join(remote, name)))
            self.assertEqual(sha256_of(os.path.join(album, name)), sha256_of(os.path.join(work, "copy", name)))
        self.assertTrue(os.path.exists(os.path.join(server.home("alice"), "day1.txt")))
