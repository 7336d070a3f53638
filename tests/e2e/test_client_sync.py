"""ferry's many-file commands against the real ferryd (issue 31): put -r/get -r of a tree of 1,000
small files and a few large ones, mput/mget, and sync up/down deciding by digest: ferryd lists its
kept digests as MLSD facts, so an unchanged tree is compared in one listing per folder; a file
changed in the middle (same size, same time) is found; a sync killed mid-file resumes from its
proven prefix; --delete, --yes and --dry-run. The same against pyftpdlib (no HASH: size and time)."""
import ftplib
import hashlib
import os
import shutil
import time

import harness
from client_support import (PASSWORD, RUN_TIMEOUT, ClientTestCase, PyftpdServer, sha256_of, wait_for_size,
                            write_random)

SMALL_FILES = 1000


def make_tree(root, small=SMALL_FILES, large=(3 << 20, 5 << 20)):
    """`small` files of 1-3 KiB over ten folders (two of them nested) and a few large ones."""
    for i in range(small):
        folder = os.path.join(root, "d%d" % (i % 10), *(["deep"] if i % 10 < 2 else []))
        os.makedirs(folder, exist_ok=True)
        write_random(os.path.join(folder, "f%04d.txt" % i), 1024 + (i * 37) % 2048, seed=i)
    for n, size in enumerate(large):
        write_random(os.path.join(root, "large%d.bin" % n), size, seed=5000 + n)


def tree_digests(root):
    digests = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            digests[os.path.relpath(path, root)] = sha256_of(path)
    return digests


def mtimes(root):
    return {os.path.relpath(os.path.join(folder, name), root): os.stat(os.path.join(folder, name)).st_mtime_ns
            for folder, _, files in os.walk(root) for name in files}


class TreeTests(ClientTestCase):
    def test_put_r_and_get_r_move_a_tree_with_every_file_verified(self):
        make_tree(self.lpath("tree"))
        up = self.ferry("put -r tree")
        self.assertOk(up)
        count = SMALL_FILES + 2
        self.assertIn("put -r: %d transferred" % count, up.stdout)
        self.assertIn(", 0 failed, %d verified" % count, up.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.remote("tree")))
        down = self.ferry("get -r tree copy")
        self.assertOk(down)
        self.assertIn("get -r: %d transferred" % count, down.stdout)
        self.assertIn("received d0/deep/f0000.txt (", down.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.lpath("copy")))

    def test_mput_and_mget_take_patterns(self):
        for name in ("a.txt", "b.txt", "c.log"):
            self.local_file(name, 5000, seed=len(name) + ord(name[0]))
        up = self.ferry("mkdir in; cd in; mput *.txt c.log")
        self.assertOk(up)
        self.assertIn("mput: 3 transferred", up.stdout)
        self.assertEqual(sorted(os.listdir(self.remote("in"))), ["a.txt", "b.txt", "c.log"])
        os.makedirs(self.remote("in/sub.txt"))  # a folder that matches is left to get -r
        os.makedirs(self.lpath("back"))
        down = self.ferry("lcd back; mget in/*.txt")
        self.assertOk(down)
        self.assertIn("mget: 2 transferred", down.stdout)
        self.assertEqual(sorted(os.listdir(self.lpath("back"))), ["a.txt", "b.txt"])
        self.assertEqual(sha256_of(self.lpath("a.txt")), sha256_of(self.lpath("back/a.txt")))
        missing = self.ferry("mput *.none; mget *.none")
        self.assertFailed(missing)
        self.assertIn("no local file matches", missing.stderr)


class SyncTests(ClientTestCase):
    def test_sync_up_twice_moves_nothing_the_second_time_and_finds_a_change_by_digest(self):
        make_tree(self.lpath("tree"))
        first = self.ferry("sync up tree backup")
        self.assertOk(first)
        self.assertIn("sync up: %d transferred" % (SMALL_FILES + 2), first.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.remote("backup")))
        before = mtimes(self.remote("backup"))
        time.sleep(2.1)  # files changed in the last 2 s are not remembered in the local digest cache

        second = self.ferry("sync up tree backup")
        self.assertOk(second)
        self.assertIn("nothing to transfer: %d files unchanged (compared by MD5)" % (SMALL_FILES + 2), second.stdout)
        self.assertIn("sync up: 0 transferred", second.stdout)
        self.assertEqual(before, mtimes(self.remote("backup")))  # nothing touched, not even a time
        with open(os.path.join(self.work, ".cache", "ferry", "digests")) as f:  # HOME is self.work
            self.assertEqual(len(f.readlines()), SMALL_FILES + 2)  # the next sync reads no local file

        # One byte in the middle, same size, same modification time: only a digest can tell (and
        # the cache's ctime, which the mtime's restoring moved, sends it to be read again).
        changed = self.lpath("tree/d3/f0003.txt")
        stat = os.stat(changed)
        with open(changed, "r+b") as f:
            f.seek(500)
            byte = f.read(1)
            f.seek(500)
            f.write(bytes([byte[0] ^ 0xFF]))
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        third = self.ferry("sync up tree backup")
        self.assertOk(third)
        self.assertIn("sent d3/f0003.txt (", third.stdout)
        self.assertIn("sync up: 1 transferred", third.stdout)
        self.assertEqual(sha256_of(changed), sha256_of(self.remote("backup/d3/f0003.txt")))

    @harness.skip_on_windows("digests are kept in extended attributes (NTFS streams are not used yet)")
    def test_the_mlsd_digest_fact_serves_the_comparison(self):
        make_tree(self.lpath("tree"), small=20, large=())
        self.assertOk(self.ferry("sync up tree t"))
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", self.port, timeout=10)
        ftp.login("user", PASSWORD)
        self.assertIn("X.md5;X.sha-1;X.sha-256;X.sha-512;", ftp.sendcmd("FEAT"))
        self.assertEqual(ftp.sendcmd("OPTS MLST type;size;X.md5;X.nope;"), "200 MLST OPTS type;size;X.md5;")
        facts = dict(ftp.mlsd("t/d3"))
        with open(self.lpath("tree/d3/f0003.txt"), "rb") as f:
            self.assertEqual(facts["f0003.txt"]["x.md5"], hashlib.md5(f.read()).hexdigest())
        self.assertEqual(dict(ftp.mlsd("t/d1"))["deep"]["type"], "dir")
        self.assertNotIn("x.md5", dict(ftp.mlsd("t/d1"))["deep"])
        self.assertNotIn("modify", facts["f0003.txt"])  # only what was asked for
        # Written behind ferryd's back: the kept digest is no longer current, so it is not listed.
        with open(self.remote("t/d3/f0003.txt"), "ab") as f:
            f.write(b"more")
        self.assertNotIn("x.md5", dict(ftp.mlsd("t/d3"))["f0003.txt"])
        self.assertIn("X.md5=", ftp.sendcmd("MLST t/d3/f0013.txt"))
        ftp.sendcmd("OPTS MLST type;size;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;")
        self.assertNotIn("X.md5", ftp.sendcmd("MLST t/d3/f0013.txt"))
        ftp.quit()
        # The changed file is asked for by HASH and re-sent; the rest is compared from the listing.
        again = self.ferry("sync up tree t")
        self.assertOk(again)
        self.assertIn("sync up: 1 transferred", again.stdout)
        self.assertIn("19 unchanged", again.stdout)

    def test_a_sync_killed_mid_file_resumes_from_its_proven_prefix(self):
        os.makedirs(self.lpath("tree"))
        big = write_random(self.lpath("tree/big.bin"), 6 << 20, seed=77)
        proxy = self.proxy(rate=1 << 20)
        proc = self.spawn("sync up tree t", port=proxy.port)
        self.assertTrue(wait_for_size(self.remote("t/big.bin"), 1 << 20), "the upload did not get going")
        proc.kill()  # kill -9: no ABOR, no goodbye
        proc.communicate(timeout=RUN_TIMEOUT)
        partial = os.path.getsize(self.remote("t/big.bin"))
        self.assertTrue(0 < partial < 6 << 20, partial)
        again = self.ferry("sync up tree t")
        self.assertOk(again)
        self.assertIn("match: the earlier transfer can be resumed", again.stdout)
        self.assertIn("sync up: 1 transferred", again.stdout)
        self.assertEqual(sha256_of(big), sha256_of(self.remote("t/big.bin")))

    def test_delete_needs_yes_without_a_terminal_and_dry_run_changes_nothing(self):
        make_tree(self.lpath("tree"), small=30, large=())
        self.assertOk(self.ferry("sync up tree t"))
        os.remove(self.lpath("tree/d4/f0004.txt"))
        shutil.rmtree(self.lpath("tree/d0"))
        write_random(self.lpath("tree/new.txt"), 100, seed=9)

        dry = self.ferry("sync up tree t --delete --dry-run")
        self.assertOk(dry)
        self.assertIn("would send new.txt (new", dry.stdout)
        self.assertIn("would delete d4/f0004.txt", dry.stdout)
        self.assertIn("would delete d0/deep/", dry.stdout)
        self.assertTrue(os.path.exists(self.remote("t/d0/deep/f0000.txt")))
        self.assertFalse(os.path.exists(self.remote("t/new.txt")))

        refused = self.ferry("sync up tree t --delete")
        self.assertFailed(refused)
        self.assertIn("add --yes (nothing was changed)", refused.stderr)
        self.assertTrue(os.path.exists(self.remote("t/d4/f0004.txt")))
        self.assertFalse(os.path.exists(self.remote("t/new.txt")))

        done = self.ferry("sync up tree t --delete --yes")
        self.assertOk(done)
        self.assertIn("deleted d0/", done.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.remote("t")))
        self.assertFalse(os.path.exists(self.remote("t/d0")))

    def test_sync_down_fetches_what_changed_on_the_server(self):
        make_tree(self.lpath("tree"), small=20, large=())
        self.assertOk(self.ferry("sync up tree t"))
        self.assertOk(self.ferry("sync down copy t"))
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.lpath("copy")))
        write_random(self.remote("t/d2/f0002.txt"), os.path.getsize(self.remote("t/d2/f0002.txt")), seed=999)
        os.remove(self.remote("t/d5/f0005.txt"))
        result = self.ferry("sync down copy t --delete --yes")
        self.assertOk(result)
        self.assertIn("received d2/f0002.txt", result.stdout)
        self.assertIn("deleted d5/f0005.txt", result.stdout)
        self.assertEqual(tree_digests(self.remote("t")), tree_digests(self.lpath("copy")))

    def test_bad_sync_arguments_are_refused(self):
        result = self.ferry("sync sideways a b; sync up; sync up a b --frobnicate; sync up no-such-folder t")
        self.assertFailed(result)
        self.assertEqual(result.stderr.count("usage: sync up|down"), 3, result.stderr)
        self.assertIn("no-such-folder: no such local folder", result.stderr)


class ParallelTests(ClientTestCase):
    CONFIG = {"max_sessions_per_user": 2}

    def test_j8_against_two_sessions_per_user_goes_on_with_two(self):
        make_tree(self.lpath("tree"), small=60, large=(2 << 20, 2 << 20, 2 << 20))
        up = self.ferry("sync up -j 8 tree t")
        self.assertOk(up)
        self.assertIn("note: 2 transfers at once, not 8: the server refused another session", up.stdout)
        self.assertIn("Too many sessions", up.stdout)
        self.assertIn("sync up: 63 transferred", up.stdout)
        self.assertIn("63 verified", up.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.remote("t")))
        down = self.ferry("get -r t copy", "-j", "2")
        self.assertOk(down)
        self.assertNotIn("note:", down.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.lpath("copy")))
        bad = self.ferry("get -r -j 0 t x; mput -j 99 *.none")
        self.assertFailed(bad)
        self.assertIn("get -j: expected 1 to 32 transfers at once, not '0'", bad.stderr)
        self.assertIn("mput -j: expected 1 to 32", bad.stderr)


class QuotaTests(ClientTestCase):
    USERS = ["user", "small"]
    QUOTAS = {"small": "1M"}

    def test_a_tree_over_the_quota_is_refused_before_any_byte(self):
        make_tree(self.lpath("tree"), small=10, large=(2 << 20,))
        result = self.ferry("put -r tree; sync up tree s", user="small")
        self.assertFailed(result)
        self.assertIn("put -r: quota exceeded: it needs", result.stderr)
        self.assertIn("sync up: quota exceeded: it needs", result.stderr)
        self.assertEqual([name for _, _, files in os.walk(self.remote("", user="small")) for name in files], [])


class PyftpdlibSyncTests(ClientTestCase):
    """A server without HASH: sync compares by size and time and says so once."""

    def make_server(self):
        try:
            return PyftpdServer(self.work)
        except (OSError, RuntimeError, ValueError) as e:
            self.skipTest("pyftpdlib is not available: %s" % e)

    def test_trees_and_sync_without_hash(self):
        make_tree(self.lpath("tree"), small=200, large=(1 << 20,))
        up = self.ferry("put -r tree")
        self.assertOk(up)
        self.assertIn("put -r: 201 transferred", up.stdout)
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.remote("tree")))
        self.assertOk(self.ferry("get -r tree copy"))
        self.assertEqual(tree_digests(self.lpath("tree")), tree_digests(self.lpath("copy")))
        first = self.ferry("sync up tree s")
        self.assertOk(first)
        second = self.ferry("sync up tree s")
        self.assertOk(second)
        self.assertIn("sync up: 0 transferred", second.stdout)
        self.assertEqual(second.stdout.count("compared by modification time"), 1, second.stdout)
        refused = self.ferry("sync up tree s --checksum-only")
        self.assertFailed(refused)
        self.assertIn("the server offers no HASH", refused.stderr)
