"""ferry against vsftpd and ProFTPD (no HASH; the X-commands where they exist), run from the Debian
packages that `bench/run --quick --servers vsftpd,proftpd --workloads download` extracts under
bench/work/peers. Skipped (with the reason) where that hasn't been run."""
import os
import pwd
import shutil
import socket
import sys
import time
import types
import unittest

from client_support import REPO, ClientTestCase, sha256_of, write_random

BENCH = os.path.join(REPO, "bench")
WORK = os.path.join(BENCH, "work")


def bench_module(name):
    """bench/harness/<name>.py, imported as package `bench_harness` (tests/e2e has its own harness)."""
    import importlib
    import importlib.util
    if "bench_harness" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_harness", os.path.join(BENCH, "harness", "__init__.py"),
                                                      submodule_search_locations=[os.path.join(BENCH, "harness")])
        package = importlib.util.module_from_spec(spec)
        sys.modules["bench_harness"] = package
        spec.loader.exec_module(package)
    return importlib.import_module("bench_harness." + name)


def bench_context():
    """The bench harness's context, reduced to what starting one peer needs; None when unprepared."""
    if not os.path.isdir(os.path.join(WORK, "peers")):
        return None, "no bench/work/peers: run bench/run --quick --servers vsftpd,proftpd --workloads download"
    setup = bench_module("setup")
    try:
        entry = pwd.getpwnam(setup.USER)
        password = setup.read_password(WORK)
    except (KeyError, OSError) as e:
        return None, "the bench user is not set up (%s)" % e
    # vsftpd serves the account's Unix home (set by whichever bench run created the account).
    home = entry.pw_dir
    if not os.path.isdir(home):
        return None, "the bench user's home %s is missing" % home
    return types.SimpleNamespace(work=WORK, homes=os.path.dirname(home), home=home, user=setup.USER,
                                 password=password, user_entry=entry, base_port=9400,
                                 pasv_range=(10000, 30999), cheap_logins=False, ferryd=None), ""


class PeerTestCase(ClientTestCase):
    PEER = None
    INDEX = 0
    UPLOAD_RESUME = True  # REST+STOR or APPE allowed

    def make_server(self):
        ctx, why = bench_context()
        if ctx is None:
            self.skipTest(why)
        peer = getattr(bench_module("servers"), self.PEER)(self.PEER.lower(), 10 + self.INDEX, ctx)
        self.isolate(peer)
        peer.start()
        self.addCleanup(peer.stop)  # before any check below can fail
        # A server that lost its port exits at once; its readiness probe may have been answered by
        # whoever holds the port, so make sure ours is the one still running.
        time.sleep(0.2)
        if not peer.alive():
            self.fail("%s exited after starting: %s" % (self.PEER, peer.tail_log()))
        peer.host, peer.close = "127.0.0.1", peer.stop  # stop() is idempotent
        peer.home = lambda user=None: ctx.home
        self.ctx = ctx
        self.names = []
        self.addCleanup(self.remove_files)
        return peer

    def isolate(self, peer):
        """A port the kernel says is free and a private folder (config, passwd, pid, scoreboard,
        log) instead of the fixed 94xx port and bench/work/srv/<name>: a bench run or another test
        run at the same time must not share or stop this server. (Two runs once both started
        ProFTPD on 9412; the loser's probe was answered by the winner, whose teardown then cut the
        loser's session: "the server closed the 127.0.0.1:9412 connection".)"""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            peer.port = probe.getsockname()[1]
        peer.dir = os.path.join(self.work, "peer-" + peer.name)
        peer.log_path = os.path.join(peer.dir, "stdout.log")

    def remove_files(self):
        for name in self.names:
            path = os.path.join(self.ctx.home, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
                continue
            try:
                os.unlink(path)
            except OSError:
                pass

    def env(self, **extra):
        return super().env(FERRY_PASSWORD=self.ctx.password, **extra)

    def run_peer(self, commands, *flags):
        return self.ferry(commands, *flags, user=self.ctx.user)

    def name(self, stem):
        name = "ferry-client-%s-%d.bin" % (stem, os.getpid())
        self.names.append(name)
        return name

    def test_login_ls_put_get_verified_or_warned(self):
        a = self.name("a")
        self.local_file(a, 2 << 20, seed=31)
        result = self.run_peer("ls; put %s; ls -l; get %s back.bin; rm %s" % (a, a, a))
        self.assertOk(result)
        self.assertIn(a, result.stdout)
        self.assertEqual(sha256_of(self.lpath(a)), sha256_of(self.lpath("back.bin")))
        self.assertTrue("verified" in result.stdout or "checked by size" in result.stderr, result)
        if os.environ.get("E2E_SHOW"):
            print(result.stdout, result.stderr)

    def test_resume_put_and_get(self):
        b = self.name("b")
        path = self.local_file(b, 3 << 20, seed=32)
        remote = os.path.join(self.ctx.home, b)
        with open(path, "rb") as f, open(remote, "wb") as out:
            out.write(f.read(1 << 20))
        os.chown(remote, self.ctx.user_entry.pw_uid, self.ctx.user_entry.pw_gid)
        result = self.run_peer("put %s" % b, "--resume")
        if self.UPLOAD_RESUME:
            self.assertOk(result)
            self.assertIn("resumed, sent", result.stdout)
            self.assertEqual(sha256_of(path), sha256_of(remote))
        else:  # refused by the server's configuration: said clearly, the partial file untouched
            self.assertFailed(result)
            self.assertIn("Append/Restart not permitted", result.stderr)
            self.assertEqual(os.path.getsize(remote), 1 << 20)
            self.assertOk(self.run_peer("put %s" % b, "--overwrite"))

        os.unlink(path)
        with open(remote, "rb") as f, open(path, "wb") as out:
            out.write(f.read(700000))
        result = self.run_peer("get %s" % b, "--resume")
        self.assertOk(result)
        self.assertIn("resumed, received", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(remote))


    def test_trees_and_sync_by_size_and_time(self):
        from test_client_sync import make_tree, tree_digests
        tree = self.name("tree")
        make_tree(self.lpath("tree"), small=50, large=(1 << 20,))
        result = self.run_peer("put -r tree %s; get -r %s copy; sync up tree %s; sync up tree %s" % ((tree,) * 4))
        self.assertOk(result)
        self.assertIn("put -r: 51 transferred", result.stdout)
        self.assertIn("get -r: 51 transferred", result.stdout)
        self.assertIn("sync up: 0 transferred", result.stdout)
        self.assertIn("nothing to transfer: 51 files unchanged", result.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(os.path.join(self.ctx.home, tree)))
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.lpath("copy")))


class VsftpdTests(PeerTestCase):
    PEER, INDEX = "Vsftpd", 0


class ProftpdTests(PeerTestCase):
    PEER, INDEX = "Proftpd", 1
    UPLOAD_RESUME = False  # ProFTPD's default: AllowStoreRestart off, and APPE refused too


del PeerTestCase  # only the concrete peers run
