"""HASH (issue 5, draft-bryan-ftpext-hash-02): FEAT, OPTS HASH, HASH with RANG, the legacy XMD5/XSHA*/XCRC
commands, test vectors against hashlib/zlib, errors, and a 512 MiB hash that does not block the session."""
import hashlib
import io
import os
import select
import socket
import time
import zlib

import harness
from harness import MiB, cmd_code
from harness_ext import ExtServerTestCase, send_reply

ALGOS = ["SHA-256", "SHA-1", "SHA-512", "MD5", "CRC32"]
LEGACY = {"XMD5": "MD5", "XSHA1": "SHA-1", "XSHA256": "SHA-256", "XSHA512": "SHA-512", "XCRC": "CRC32"}


def digest(algo, data):
    if algo == "CRC32":
        return format(zlib.crc32(data) & 0xFFFFFFFF, "08x")
    return hashlib.new({"SHA-256": "sha256", "SHA-1": "sha1", "SHA-512": "sha512", "MD5": "md5"}[algo],
                       data).hexdigest()


def pattern(size):
    unit = bytes(range(256)) + b"ferry-hash-pattern\r\n"
    return (unit * (size // len(unit) + 1))[:size]


def parse213(resp):
    """'213 ALGO s-e hex path' -> (algo, s, e, hex, path)."""
    if not resp.startswith("213 "):
        raise AssertionError("expected '213 <algo> <start>-<end> <hex> <path>', got %r" % resp)
    parts = resp[4:].split(" ", 3)
    if len(parts) != 4 or "-" not in parts[1]:
        raise AssertionError("cannot parse HASH reply %r" % resp)
    s, e = parts[1].split("-", 1)
    return parts[0], int(s), int(e), parts[2].lower(), parts[3]


@harness.skip_unless_ferryd("HASH is ferryd's")
class HashTest(ExtServerTestCase):
    USERS = {"hasher": "hasher-pw-1"}
    CONFIG = {"pool_threads": 2, "max_hash_jobs_per_user": 2}  # upload_digests: the default, MD5 + SHA-256
    FILES = {"empty.bin": b"", "abc.txt": b"abc", "pattern.bin": pattern(MiB), "fifty.bin": pattern(50),
             "with space.txt": b"spaced name\n"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        home = cls.srv.home("hasher")
        for name, data in cls.FILES.items():
            with open(os.path.join(home, name), "wb") as f:
                f.write(data)
        os.makedirs(os.path.join(home, "adir"), exist_ok=True)

    def test_feat(self):
        ftp = self.login()
        lines = ftp.sendcmd("FEAT").splitlines()
        self.assertIn(" HASH SHA-256*;SHA-1;SHA-512;MD5;CRC32", lines)
        self.assertIn(" RANG STREAM", lines)

    def test_opts_hash(self):
        ftp = self.login()
        self.assertEqual(send_reply(ftp, "OPTS HASH"), "200 SHA-256")
        self.assertEqual(send_reply(ftp, "OPTS HASH MD5"), "200 MD5")
        self.assertEqual(send_reply(ftp, "OPTS HASH"), "200 MD5")
        feat = ftp.sendcmd("FEAT").splitlines()
        hash_line = [l for l in feat if l.startswith(" HASH ")]
        self.assertEqual(hash_line, [" HASH SHA-256;SHA-1;SHA-512;MD5*;CRC32"], feat)
        self.assertEqual(parse213(send_reply(ftp, "HASH abc.txt"))[0], "MD5")
        self.assertEqual(cmd_code(ftp, "OPTS HASH WHIRLPOOL"), 501)
        self.assertEqual(send_reply(ftp, "OPTS HASH"), "200 MD5")  # unchanged by the refusal

    def test_vectors_all_algorithms(self):
        ftp = self.login()
        for algo in ALGOS:
            self.assertEqual(send_reply(ftp, "OPTS HASH " + algo), "200 " + algo)
            for name, data in self.FILES.items():
                a, s, e, hx, path = parse213(send_reply(ftp, "HASH " + name))
                self.assertEqual(a, algo)
                self.assertEqual((s, e), (0, max(len(data) - 1, 0)), "%s %s" % (algo, name))
                self.assertEqual(hx, digest(algo, data), "%s %s" % (algo, name))
                self.assertTrue(path.endswith(name), path)
                if algo == "CRC32":
                    self.assertEqual(len(hx), 8)
        # absolute path and a subfolder cwd
        ftp.sendcmd("OPTS HASH SHA-256")
        ftp.cwd("/adir")
        self.assertEqual(parse213(send_reply(ftp, "HASH /abc.txt"))[3], digest("SHA-256", b"abc"))
        self.assertEqual(parse213(send_reply(ftp, "HASH ../fifty.bin"))[2], 49)

    def test_rang(self):
        ftp = self.login()
        data = self.FILES["pattern.bin"]
        self.assertEqual(cmd_code(ftp, "RANG 10 19"), 350)
        a, s, e, hx, _ = parse213(send_reply(ftp, "HASH pattern.bin"))
        self.assertEqual((a, s, e, hx), ("SHA-256", 10, 19, digest("SHA-256", data[10:20])))
        # the range applied to that HASH only
        a, s, e, hx, _ = parse213(send_reply(ftp, "HASH pattern.bin"))
        self.assertEqual((s, e, hx), (0, len(data) - 1, digest("SHA-256", data)))
        # RANG 1 0 resets
        self.assertEqual(cmd_code(ftp, "RANG 100 200"), 350)
        self.assertEqual(cmd_code(ftp, "RANG 1 0"), 350)
        a, s, e, hx, _ = parse213(send_reply(ftp, "HASH pattern.bin"))
        self.assertEqual((s, e, hx), (0, len(data) - 1, digest("SHA-256", data)))
        # start > end otherwise
        self.assertEqual(cmd_code(ftp, "RANG 5 3"), 501)
        self.assertEqual(cmd_code(ftp, "RANG x y"), 501)
        # end past the end: clamped
        ftp.sendcmd("OPTS HASH CRC32")
        self.assertEqual(cmd_code(ftp, "RANG 1000 %d" % (10 * MiB)), 350)
        a, s, e, hx, _ = parse213(send_reply(ftp, "HASH pattern.bin"))
        self.assertEqual((a, s, e, hx), ("CRC32", 1000, len(data) - 1, digest("CRC32", data[1000:])))
        # start past the end
        self.assertEqual(cmd_code(ftp, "RANG %d %d" % (2 * MiB, 2 * MiB + 10)), 350)
        self.assertIn(cmd_code(ftp, "HASH pattern.bin"), (550, 501))
        ftp.sendcmd("RANG 1 0")
        # a one-byte range
        self.assertEqual(cmd_code(ftp, "RANG 0 0"), 350)
        a, s, e, hx, _ = parse213(send_reply(ftp, "HASH abc.txt"))
        self.assertEqual((s, e, hx), (0, 0, digest("CRC32", b"a")))

    def test_legacy_commands(self):
        ftp = self.login()
        for cmd, algo in LEGACY.items():
            for name in ("abc.txt", "pattern.bin", "empty.bin"):
                resp = send_reply(ftp, "%s %s" % (cmd, name))
                self.assertTrue(resp.startswith("250 "), "%s %s: %r" % (cmd, name, resp))
                self.assertEqual(resp.split()[1].lower(), digest(algo, self.FILES[name]), "%s %s" % (cmd, name))
            data = self.FILES["pattern.bin"]
            resp = send_reply(ftp, "%s pattern.bin 100 5000" % cmd)  # end exclusive
            self.assertTrue(resp.startswith("250 "), "%s range: %r" % (cmd, resp))
            self.assertEqual(resp.split()[1].lower(), digest(algo, data[100:5000]), cmd)
        resp = send_reply(ftp, "XMD5 with space.txt")
        self.assertEqual(resp.split()[1].lower(), digest("MD5", self.FILES["with space.txt"]), resp)

    def test_errors(self):
        ftp = self.login()
        self.assertEqual(cmd_code(ftp, "HASH adir"), 550)
        self.assertEqual(cmd_code(ftp, "HASH nope.bin"), 550)
        self.assertEqual(cmd_code(ftp, "HASH ../../../etc/passwd"), 550)
        for cmd in LEGACY:
            self.assertEqual(cmd_code(ftp, cmd + " nope.bin"), 550, cmd)
            self.assertEqual(cmd_code(ftp, cmd + " adir"), 550, cmd)
        self.assertEqual(cmd_code(ftp, "NOOP"), 200)
        fresh = self.connect()
        self.assertEqual(cmd_code(fresh, "HASH abc.txt"), 530)

    # ---- a long hash runs on the worker pool
    def _big(self):
        path = os.path.join(self.srv.home("hasher"), "big512.bin")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.truncate(512 * MiB)  # sparse: reads as zeros
        return path

    def _read_replies(self, sock, want, deadline):
        """Read reply lines (single-line replies) until `want(replies)` is true; returns [(t, line)]."""
        buf, out, t0 = b"", [], time.monotonic()
        while not want([l for _, l in out]):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                break
            b = sock.recv(65536)
            if not b:
                break
            buf += b
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                out.append((time.monotonic() - t0, line.decode(errors="replace")))
        return out

    def _raw_login(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=20)
        f = s.makefile("rb")
        f.readline()
        for line in (b"USER hasher\r\n", b"PASS hasher-pw-1\r\n"):
            s.sendall(line)
            while True:
                l = f.readline()
                if l[3:4] != b"-":
                    break
        f.close()
        self.assertTrue(l.startswith(b"230"), l)
        return s

    def test_big_hash_does_not_block_noop(self):
        self._big()
        s = self._raw_login()
        try:
            s.sendall(b"HASH big512.bin\r\n")
            time.sleep(0.05)
            s.sendall(b"NOOP\r\n")
            out = self._read_replies(s, lambda ls: any(l[:1] in "2345" and not l.startswith("200") for l in ls)
                                     and any(l.startswith("200") for l in ls), time.monotonic() + 30)
            noop = [t for t, l in out if l.startswith("200")]
            self.assertTrue(noop, out)
            self.assertLess(noop[0], 1.0, "NOOP answered only after %.2fs: %r" % (noop[0], out))
            h = [l for _, l in out if l.startswith("213 ")]
            self.assertTrue(h, out)
            a, st, e, hx, _ = parse213(h[0])
            self.assertEqual((st, e), (0, 512 * MiB - 1))
            zeros = hashlib.sha256()
            block = bytes(MiB)
            for _ in range(512):
                zeros.update(block)
            self.assertEqual(hx, zeros.hexdigest())
        finally:
            s.close()

    def test_big_hash_abor(self):
        self._big()
        s = self._raw_login()
        try:
            s.sendall(b"OPTS HASH SHA-512\r\n")
            self.assertEqual(self._read_replies(s, lambda ls: ls, time.monotonic() + 5)[0][1], "200 SHA-512")
            s.sendall(b"HASH big512.bin\r\n")
            time.sleep(0.05)
            t0 = time.monotonic()
            s.sendall(b"ABOR\r\n")
            first = self._read_replies(s, lambda ls: ls, t0 + 5)
            self.assertTrue(first, "no reply within 5 s of ABOR")
            self.assertLess(first[0][0], 1.0, first)
            s.sendall(b"NOOP\r\n")
            rest = self._read_replies(s, lambda ls: any(l.startswith("200") for l in ls),
                                      time.monotonic() + 30)
            lines = [l for _, l in first + rest]
            self.assertTrue(any(l[:3] in ("225", "226") for l in lines), lines)  # ABOR's answer
            self.assertTrue(any(l.startswith("200") for l in lines), lines)      # session still works
            for l in lines:
                self.assertRegex(l, r"^(200|213|225|226|426|451) ", lines)
        finally:
            s.close()
        ftp = self.login()
        self.assertEqual(cmd_code(ftp, "NOOP"), 200)

    def test_digest_is_kept_with_the_file(self):
        path = os.path.join(self.srv.home("hasher"), "kept.bin")
        data = pattern(3 * MiB)
        with open(path, "wb") as f:
            f.write(data)
        hour_ago = time.time() - 3600
        os.utime(path, (hour_ago, hour_ago))  # a digest of a file written just now is not kept
        ftp = self.login()
        first = parse213(ftp.sendcmd("HASH kept.bin"))[3]
        self.assertEqual(first, digest("SHA-256", data))
        try:
            stored = os.getxattr(path, "user.ferry.sha-256")
        except OSError as e:
            self.skipTest("no user extended attributes on this file system: %s" % e)
        self.assertTrue(stored.endswith(first.encode()), stored)
        # What answers the next HASH is the attribute: one forged with the right stamp is served.
        os.setxattr(path, "user.ferry.sha-256", stored[:-len(first)] + b"a" * 64)
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], "a" * 64)
        # Edited from a shell: the stamp no longer matches, the file is hashed again.
        with open(path, "r+b") as f:
            f.seek(100)
            f.write(b"edited")
        edited = data[:100] + b"edited" + data[106:]
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], digest("SHA-256", edited))
        # Ranges are always read from the file.
        self.assertTrue(ftp.sendcmd("RANG 0 9").startswith("350"))
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], digest("SHA-256", edited[:10]))
        # Once the edit is old enough, the new digest is kept in its place.
        os.utime(path, (hour_ago - 60, hour_ago - 60))
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], digest("SHA-256", edited))
        kept = os.getxattr(path, "user.ferry.sha-256")
        self.assertTrue(kept.endswith(digest("SHA-256", edited).encode()), kept)

    def test_hash_jobs_per_user_are_capped(self):
        self._big()
        sessions = [self._raw_login() for _ in range(3)]
        try:
            for s in sessions[:2]:  # a range: read from the file every time, never a kept digest
                s.sendall(b"XSHA512 big512.bin 0 536870000\r\n")
            time.sleep(0.1)
            sessions[2].sendall(b"XSHA512 big512.bin 0 536870000\r\n")
            third = self._read_replies(sessions[2], lambda ls: ls, time.monotonic() + 5)
            self.assertTrue(third and third[0][1].startswith("450 "), third)
            self.assertIn("max_hash_jobs_per_user", third[0][1])
            for s in sessions[:2]:
                done = self._read_replies(s, lambda ls: ls, time.monotonic() + 60)
                self.assertTrue(done and done[0][1].startswith("250 "), done)
            sessions[2].sendall(b"XCRC fifty.bin\r\n")  # a slot is free again
            again = self._read_replies(sessions[2], lambda ls: ls, time.monotonic() + 10)
            self.assertTrue(again and again[0][1].startswith("250 "), again)
        finally:
            for s in sessions:
                s.close()

    def _kept(self, name, algo, timeout=10):
        """The digest kept with `name` (user.ferry.<algo>), waiting up to `timeout` for it; None if none."""
        path = os.path.join(self.srv.home("hasher"), name)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return os.getxattr(path, "user.ferry." + algo).decode().rsplit(" ", 1)[1]
            except OSError as e:
                if e.errno not in (61,):  # ENODATA: not (yet) kept
                    self.skipTest("no user extended attributes on this file system: %s" % e)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    @harness.skip_on_windows("kept digests live in the file's user.ferry.* xattrs; Windows has none (HASH computes)")
    def test_uploads_keep_their_digests(self):
        data = pattern(48 * MiB + 5)
        ftp = self.login()
        ftp.storbinary("STOR streamed.bin", io.BytesIO(data))
        # A HASH right after the 226 gets the upload's own digest (waiting for it if need be).
        self.assertEqual(parse213(ftp.sendcmd("HASH streamed.bin"))[3], digest("SHA-256", data))
        self.assertEqual(self._kept("streamed.bin", "md5"), digest("MD5", data))
        self.assertEqual(self._kept("streamed.bin", "sha-256"), digest("SHA-256", data))
        ftp.sendcmd("OPTS HASH MD5")
        self.assertEqual(parse213(ftp.sendcmd("HASH streamed.bin"))[3], digest("MD5", data))
        ftp.sendcmd("OPTS HASH SHA-256")

    @harness.skip_on_windows("kept digests live in the file's user.ferry.* xattrs; Windows has none (HASH computes)")
    def test_a_resumed_upload_digests_its_prefix_too(self):
        data = pattern(9 * MiB + 77)
        half = 4 * MiB + 3
        ftp = self.login()
        ftp.storbinary("STOR resumed.bin", io.BytesIO(data[:half]))
        self.assertEqual(self._kept("resumed.bin", "md5"), digest("MD5", data[:half]))
        ftp.storbinary("STOR resumed.bin", io.BytesIO(data[half:]), rest=half)
        self.assertEqual(self._kept("resumed.bin", "md5"), digest("MD5", data))
        ftp.storbinary("APPE resumed.bin", io.BytesIO(b"tail"))
        self.assertEqual(self._kept("resumed.bin", "sha-256"), digest("SHA-256", data + b"tail"))
        self.assertEqual(parse213(ftp.sendcmd("HASH resumed.bin"))[3], digest("SHA-256", data + b"tail"))

    def test_hash_during_an_upload_from_another_session(self):
        """A HASH of a file another session is still uploading waits at most 5 s for the upload's
        digest, then hashes what is there and names that range (not the size when it was asked)."""
        path = os.path.join(self.srv.home("hasher"), "streaming.bin")
        first = pattern(2 * MiB)
        up = self.login()
        up.voidcmd("TYPE I")
        conn = up.transfercmd("STOR streaming.bin")
        try:
            conn.sendall(first)
            deadline = time.monotonic() + 10
            while os.path.getsize(path) < len(first) and time.monotonic() < deadline:
                time.sleep(0.05)
            other = self.login()
            other.sock.settimeout(30)
            t0 = time.monotonic()
            reply = other.sendcmd("HASH streaming.bin")
            waited = time.monotonic() - t0
            self.assertLess(waited, 8, "HASH waited %.1f s for an upload that was still streaming" % waited)
            algo, start, end, hexdigest, _ = parse213(reply)
            self.assertEqual((start, end), (0, len(first) - 1), reply)
            self.assertEqual(hexdigest, digest("SHA-256", first))
            conn.sendall(b"more")
        finally:
            conn.close()
        up.voidresp()
        self.assertEqual(parse213(up.sendcmd("HASH streaming.bin"))[3], digest("SHA-256", first + b"more"))

    def test_a_cut_upload_keeps_no_wrong_digest(self):
        """Whatever an aborted upload left, a digest kept with it is the digest of what is there."""
        path = os.path.join(self.srv.home("hasher"), "cut.bin")
        sent = pattern(3 * MiB)
        ftp = self.login()
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("STOR cut.bin")
        conn.sendall(sent)
        if ftp.abort().startswith("426"):  # ABOR during the upload: 426, then 226
            ftp.voidresp()
        conn.close()
        ftp.voidcmd("NOOP")
        time.sleep(0.3)
        with open(path, "rb") as f:
            there = f.read()
        for algo, name in (("md5", "MD5"), ("sha-256", "SHA-256")):
            try:
                kept = os.getxattr(path, "user.ferry." + algo).decode().rsplit(" ", 1)[1]
            except OSError:
                continue  # nothing kept: fine
            self.assertEqual(kept, digest(name, there))
        self.assertEqual(parse213(ftp.sendcmd("HASH cut.bin"))[3], digest("SHA-256", there))


@harness.skip_unless_ferryd("upload digests are ferryd's")
class UploadDigestsOffTest(ExtServerTestCase):
    USERS = {"hasher": "hasher-pw-1"}
    CONFIG = {"upload_digests": []}

    def test_uploads_keep_no_digest_and_hash_reads_the_file(self):
        data = pattern(5 * MiB + 1)
        ftp = self.login()
        ftp.storbinary("STOR plain.bin", io.BytesIO(data))
        time.sleep(0.5)  # what a digest computed behind the upload would have needed, many times over
        path = os.path.join(self.srv.home("hasher"), "plain.bin")
        for algo in ("md5", "sha-256"):
            with self.assertRaises(OSError, msg="a digest was kept with upload_digests = []"):
                os.getxattr(path, "user.ferry." + algo)
        self.assertEqual(parse213(ftp.sendcmd("HASH plain.bin"))[3], digest("SHA-256", data))


class _Repeated:
    """A file-like object of `count` copies of `block`, for storbinary without the bytes in memory."""

    def __init__(self, block, count):
        self.block, self.left = block, count

    def read(self, size=-1):
        if self.left == 0:
            return b""
        self.left -= 1
        return self.block


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@harness.skip_on_windows("reads the server's CPU time from /proc")
@harness.skip_unless_ferryd("upload digests are ferryd's")
class GoneFileDigestTest(ExtServerTestCase):
    """A digest still catching up after its upload stops when the file is deleted or renamed over:
    nobody can ask for it any more. Five digests of 384 MiB are seconds of CPU behind the upload."""
    USERS = {"hasher": "hasher-pw-1"}
    CONFIG = {"upload_digests": ["sha-512", "sha-256", "sha-1", "md5", "crc32"]}

    def cpu_after(self, step):
        """The server's CPU seconds in the second after step(ftp), which follows a 384 MiB upload."""
        ftp = self.login()
        ftp.storbinary("STOR big.bin", _Repeated(pattern(MiB), 384), blocksize=MiB)
        step(ftp)
        before = _cpu_seconds(self.srv.proc.pid)
        time.sleep(1.0)
        return _cpu_seconds(self.srv.proc.pid) - before

    def test_dele_stops_the_digest(self):
        self.assertLess(self.cpu_after(lambda ftp: ftp.delete("big.bin")), 0.3)

    def test_rename_over_stops_the_digest(self):
        def rename_over(ftp):
            ftp.storbinary("STOR small.bin", io.BytesIO(b"small"))
            ftp.rename("small.bin", "big.bin")
        self.assertLess(self.cpu_after(rename_over), 0.3)


@harness.skip_unless_ferryd("kept digests are ferryd's")
class DigestsSurviveRestartTest(ExtServerTestCase):
    USERS = {"hasher": "hasher-pw-1"}

    def test_an_uploads_digest_is_served_after_a_restart(self):
        data = pattern(6 * MiB + 3)
        ftp = self.login()
        ftp.storbinary("STOR kept.bin", io.BytesIO(data))
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], digest("SHA-256", data))
        ftp.quit()
        path = os.path.join(self.srv.home("hasher"), "kept.bin")
        try:
            stored = os.getxattr(path, "user.ferry.sha-256")
        except OSError as e:
            self.skipTest("no user extended attributes on this file system: %s" % e)
        # Forged with the right stamp: what a restarted server answers comes from the attribute.
        os.setxattr(path, "user.ferry.sha-256", stored[:-64] + b"b" * 64)
        self.srv.stop()
        self.srv.start()
        ftp = self.login()
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], "b" * 64)
        ftp.sendcmd("OPTS HASH MD5")
        self.assertEqual(parse213(ftp.sendcmd("HASH kept.bin"))[3], digest("MD5", data))
