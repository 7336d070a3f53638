"""ferry against the real ferryd: transfers cut by a killed server are resumed with identical
content, a changed local file is not resumed onto, skip leaves files alone (issue 7).
Transfers are slowed by client_support.FtpProxy so the server can be SIGKILLed midway."""
import os

from client_support import RUN_TIMEOUT, ClientTestCase, sha256_of, wait_for_size, write_random

SIZE = 6 << 20


class ResumeTests(ClientTestCase):
    def make_partial_remote(self, name, size, keep, seed=6):
        path = self.local_file(name, size, seed)
        with open(path, "rb") as f, open(self.remote(name), "wb") as out:
            out.write(f.read(keep))
        return path

    def kill_and_restart_when(self, path, proc):
        """SIGKILLs ferryd once `path` holds > 1 MiB, waits for the client, restarts ferryd."""
        self.assertTrue(wait_for_size(path, 1 << 20), "the transfer did not get going")
        self.server.kill()
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertNotEqual(proc.returncode, 0, out + err)
        self.server.restart()
        return out, err

    def test_cut_upload_is_resumed_with_identical_sha256(self):
        proxy = self.proxy(rate=1 << 20)
        path = self.local_file("cut.bin", SIZE, seed=7)
        proc = self.spawn("put cut.bin", "--hash", "sha256", port=proxy.port)
        out, err = self.kill_and_restart_when(self.remote("cut.bin"), proc)
        self.assertIn("interrupted", err)
        self.assertIn("`put cut.bin cut.bin` again to resume", err)
        partial = os.path.getsize(self.remote("cut.bin"))
        self.assertTrue(0 < partial < SIZE, partial)

        result = self.ferry("put cut.bin", "--hash", "sha256")  # batch default: resume when proven
        self.assertOk(result)
        self.assertIn("match", result.stdout)
        self.assertIn("resumed, sent", result.stdout)
        self.assertIn("verified SHA-256", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(self.remote("cut.bin")))

    def test_cut_download_leaves_the_partial_file_and_is_resumed(self):
        proxy = self.proxy(rate=1 << 20)
        write_random(self.remote("down.bin"), SIZE, seed=14)
        target = self.lpath("down.bin")
        proc = self.spawn("get down.bin", port=proxy.port)
        out, err = self.kill_and_restart_when(target, proc)
        self.assertIn("partial file stays at", err)
        self.assertIn("`get down.bin down.bin` again to resume", err)
        self.assertTrue(0 < os.path.getsize(target) < SIZE)

        result = self.ferry("get down.bin", "--hash", "sha256")
        self.assertOk(result)
        self.assertIn("resumed, received", result.stdout)
        self.assertIn("verified SHA-256", result.stdout)
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

    def test_changed_remote_file_is_not_resumed_onto_by_get(self):
        write_random(self.remote("g.bin"), 2 << 20, seed=15)
        write_random(self.lpath("g.bin"), 1 << 20, seed=16)  # not a prefix of the server's file
        result = self.ferry("get g.bin", "--resume")
        self.assertOk(result)
        self.assertIn("DIFFER", result.stdout)
        self.assertNotIn("resumed", result.stdout)
        self.assertEqual(sha256_of(self.remote("g.bin")), sha256_of(self.lpath("g.bin")))

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
        with open(self.remote("g.bin"), "rb") as f, open(self.lpath("g.bin"), "wb") as out:
            out.write(f.read(1000))
        local_before = sha256_of(self.lpath("g.bin"))

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
        self.assertEqual(local_before, sha256_of(self.lpath("g.bin")))

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
