"""ferry against the real ferryd: every shell command, verified put/get, refusals, quotas, batch
input, and a corrupted upload caught by the verification (issue 7). See client_support.py."""
import hashlib
import os
import subprocess
import time

from client_support import FERRY, PASSWORD, RUN_TIMEOUT, ClientTestCase, sha256_of, wait_for_size, write_random


def md5_of(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


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
        self.assertIn("SHA-256 " + sha256_of(self.lpath("a.bin")), out)
        with open(self.lpath("a.bin"), "rb") as f:
            self.assertIn("MD5 " + hashlib.md5(f.read()).hexdigest(), out)
        self.assertIn("Quota for user: used 3145728 of 2147483648 bytes", out)
        self.assertIn("b.bin", out)
        self.assertEqual(sha256_of(self.lpath("a.bin")), sha256_of(self.lpath("back.bin")))
        self.assertFalse(os.path.exists(self.remote("docs")))
        self.assertNotIn("ETA", result.stderr)  # no bar in a pipe
        self.assertNotIn("warning", result.stderr)  # ferryd has HASH: nothing falls back

    def test_the_local_side_lcd_lpwd_lls_bang_and_home(self):
        os.makedirs(os.path.join(self.local, "sub"), exist_ok=True)
        write_random(os.path.join(self.local, "sub", "inner.bin"), 4096, seed=3)
        write_random(os.path.join(self.work, "from-home.bin"), 2048, seed=4)  # HOME is self.work
        result = self.ferry("lpwd; lls; lcd sub; lpwd; lls -l; put inner.bin; get inner.bin copy.bin; "
                            "put ~/from-home.bin; get from-home.bin ~/back-home.bin; !echo bang-$((6*7)); lcd; lpwd")
        self.assertOk(result)
        out = [line for line in result.stdout.splitlines() if not line.startswith("logged in as")]
        sub = os.path.realpath(os.path.join(self.local, "sub"))
        self.assertEqual(os.path.realpath(out[0]), os.path.realpath(self.local))
        self.assertIn("sub/", out)
        moved = [line[len("local directory now "):] for line in out if line.startswith("local directory now ")]
        self.assertEqual([os.path.realpath(m) for m in moved], [sub, os.path.realpath(self.work)])
        self.assertIn("-         4096 inner.bin", out)
        self.assertTrue(os.path.exists(os.path.join(self.local, "sub", "copy.bin")))  # get wrote into the new folder
        self.assertEqual(sha256_of(self.remote("inner.bin")), sha256_of(os.path.join(self.local, "sub", "inner.bin")))
        self.assertEqual(sha256_of(self.remote("from-home.bin")), sha256_of(os.path.join(self.work, "from-home.bin")))
        self.assertEqual(sha256_of(os.path.join(self.work, "back-home.bin")), sha256_of(os.path.join(self.work, "from-home.bin")))
        self.assertIn("bang-42", out)
        self.assertEqual(os.path.realpath(out[-1]), os.path.realpath(self.work))  # lcd alone: home
        failed = self.ferry("lcd /no/such/folder; lls /no/such/folder; !exit 3")
        self.assertFailed(failed)
        self.assertIn("error: lcd /no/such/folder:", failed.stderr)
        self.assertIn("error: lls /no/such/folder:", failed.stderr)
        self.assertIn("error: !exit 3: exit status", failed.stderr)

    def test_hash_of_a_file_written_on_the_server(self):
        write_random(self.remote("direct.bin"), 1234567, seed=21)
        result = self.ferry("hash --algo sha256 direct.bin; hash --algo sha1 direct.bin")
        self.assertOk(result)
        self.assertIn("SHA-256 %s  direct.bin" % sha256_of(self.remote("direct.bin")), result.stdout)
        with open(self.remote("direct.bin"), "rb") as f:
            self.assertIn("SHA-1 %s" % hashlib.sha1(f.read()).hexdigest(), result.stdout)

    def test_refusals_are_clear_and_fail_the_run(self):
        result = self.ferry("rm nosuch.txt; cd nowhere; get nosuch.txt; hash nosuch.txt; pwd")
        self.assertFailed(result)
        self.assertIn("rm nosuch.txt: not found or no permission (550", result.stderr)
        self.assertIn("cd nowhere: not found or no permission (550", result.stderr)
        self.assertIn("get nosuch.txt", result.stderr)
        self.assertIn("hash nosuch.txt: not found", result.stderr)
        self.assertIn("/", result.stdout)  # later commands still ran
        self.assertFalse(os.path.exists(self.lpath("nosuch.txt")))

    def test_unknown_command_and_usage(self):
        result = self.ferry("frobnicate; put")
        self.assertFailed(result)
        self.assertIn("unknown command 'frobnicate'", result.stderr)
        self.assertIn("usage: put [-r] LOCAL [REMOTE]", result.stderr)

    def test_commands_on_stdin_with_password_stdin(self):
        self.local_file("s.bin", 100000, seed=2)
        result = self.ferry(None, "--password-stdin", stdin=PASSWORD + "\nput s.bin\nls\n# a comment\nquit\n",
                            env=self.env(FERRY_PASSWORD="wrong"))
        self.assertOk(result)
        self.assertIn("s.bin", result.stdout)
        self.assertEqual(sha256_of(self.lpath("s.bin")), sha256_of(self.remote("s.bin")))

    def test_wrong_password(self):
        result = self.ferry("pwd", env=self.env(FERRY_PASSWORD="not-the-password"))
        self.assertFailed(result)
        self.assertIn("login as user", result.stderr)
        self.assertIn("530", result.stderr)

    def test_url_form_starts_in_the_directory(self):
        os.makedirs(self.remote("sub"))
        argv = [self.base_args()[0], "ftp://user@127.0.0.1:%d/sub" % self.server.port, "-c", "pwd"]
        result = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=RUN_TIMEOUT)
        self.assertOk(result)
        self.assertIn("/sub\n", result.stdout)

    def test_get_to_dev_null_is_still_verified(self):
        # Hashing while receiving: the digest doesn't depend on reading the local file back.
        write_random(self.remote("n.bin"), 3 << 20, seed=22)
        result = self.ferry("get n.bin /dev/null")
        self.assertOk(result)
        self.assertIn("verified MD5", result.stdout)

    def test_verification_catches_a_corrupted_upload(self):
        # The proxy flips one byte of the upload: ferryd stores (and hashes) what it received.
        proxy = self.proxy(corrupt_at=100000)
        self.local_file("corrupt.bin", 200000, seed=3)
        result = self.ferry("put corrupt.bin", "--hash", "sha256", port=proxy.port)
        self.assertFailed(result)
        self.assertIn("verification FAILED", result.stderr)
        self.assertIn(sha256_of(self.lpath("corrupt.bin")), result.stderr)
        self.assertIn(sha256_of(self.remote("corrupt.bin")), result.stderr)

    def test_verification_catches_a_corrupted_download(self):
        # The proxy flips one byte of the download. ferry hashes the bytes as they arrive (into a
        # regular file here), and names its digest and the server's.
        proxy = self.proxy(corrupt_download_at=1500000)
        write_random(self.remote("bent.bin"), 3 << 20, seed=23)
        result = self.ferry("get bent.bin", port=proxy.port)
        self.assertFailed(result)
        self.assertIn("verification FAILED", result.stderr)
        self.assertIn(md5_of(self.lpath("bent.bin")), result.stderr)
        self.assertIn(md5_of(self.remote("bent.bin")), result.stderr)
        self.assertNotEqual(md5_of(self.lpath("bent.bin")), md5_of(self.remote("bent.bin")))


class QuotaTests(ClientTestCase):
    USERS = ["user", "small", "roomy", "admin"]
    QUOTAS = {"small": "1M", "roomy": "10M"}
    ADMINS = ("admin",)

    def test_quota_exceeded_names_the_numbers(self):
        self.local_file("big.bin", 2 << 20, seed=5)
        result = self.ferry("quota; put big.bin", user="small")
        self.assertFailed(result)
        self.assertIn("quota exceeded", result.stderr)
        self.assertIn("2097152 bytes", result.stderr)
        self.assertIn("1048576 bytes", result.stderr)
        self.assertIn("used 0 of 1048576 bytes", result.stdout)  # the quota command
        self.assertFalse(os.path.exists(self.remote("big.bin", "small")))

    def test_quota_hit_mid_upload_keeps_what_arrived(self):
        # The upload fits when it starts (the AVBL check passes); an admin lowers the quota while it
        # runs, and ferryd (which reserves 4 MiB at a time) stops it at the new limit with 552.
        proxy = self.proxy(rate=2 << 20)
        self.local_file("one.bin", 8 << 20, seed=6)
        slow = self.spawn("put one.bin", user="roomy", port=proxy.port)
        self.assertTrue(wait_for_size(self.remote("one.bin", "roomy"), 1 << 20), "the upload did not start")
        admin = self.server.ftp("admin")
        try:
            self.assertTrue(admin.sendcmd("SITE SETQUOTA roomy 5M").startswith("200"))
        finally:
            admin.close()
        out, err = slow.communicate(timeout=RUN_TIMEOUT)
        self.assertNotEqual(slow.returncode, 0, out + err)
        self.assertIn("quota exceeded", err)
        self.assertIn("of 5242880 bytes", err)
        self.assertIn("resumes it", err)
        kept = os.path.getsize(self.remote("one.bin", "roomy"))
        self.assertTrue(4 << 20 <= kept <= 5 << 20, kept)  # what arrived is kept


class BookmarkTests(ClientTestCase):
    def write_config(self, text):
        folder = os.path.join(self.work, ".config", "ferry")  # HOME is self.work
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.toml"), "w") as f:
            f.write(text)

    def bookmark(self, *args, commands="pwd"):
        return subprocess.run([FERRY] + list(args) + ["-c", commands], capture_output=True, text=True, cwd=self.local,
                              env=self.env(), timeout=RUN_TIMEOUT)

    def test_a_bookmark_connects_and_command_line_options_win(self):
        os.makedirs(self.remote("projects"))
        self.write_config('[bookmarks.work]\nhost = "127.0.0.1"\nport = %d\nuser = "user"\nfolder = "/projects"\n'
                          'hash = "sha256"\njobs = 2\n' % self.port)
        self.local_file("b.bin", 5000, seed=5)
        result = self.bookmark("work", commands="pwd; put b.bin")
        self.assertOk(result)
        self.assertIn("/projects", result.stdout)
        self.assertIn("verified SHA-256", result.stdout)
        self.assertTrue(os.path.exists(self.remote("projects/b.bin")))
        overridden = self.bookmark("--hash", "md5", "work", commands="put b.bin c.bin")
        self.assertOk(overridden)
        self.assertIn("verified MD5", overridden.stdout)

    def test_bad_bookmarks_are_refused_with_the_line(self):
        self.write_config('[bookmarks.work]\nhost = "127.0.0.1"\npassword = "secret"\n[bookmarks.other]\nhots = "x"\n')
        stored = self.bookmark("work")
        self.assertEqual(stored.returncode, 2, stored.stderr)
        self.assertIn("config.toml:3: password: ferry keeps no passwords in files", stored.stderr)
        typo = self.bookmark("other")
        self.assertEqual(typo.returncode, 2)
        self.assertIn("config.toml:5: hots: unknown key", typo.stderr)
        missing = self.bookmark("nowhere")
        self.assertEqual(missing.returncode, 2)
        self.assertIn("no bookmark 'nowhere'", missing.stderr)
        self.assertIn("(there: other, work)", missing.stderr)
