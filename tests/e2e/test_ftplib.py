"""Core protocol through Python's ftplib and raw sockets against a real server."""
import calendar
import ftplib
import os
import socket
import time
import unittest

import harness
from harness import (MiB, IS_FERRYD, ServerTestCase, cmd_code, make_bytes, make_file, open_data,
                     raw_reply, raw_send, retr_bytes, sha256_bytes, sha256_file, stor_bytes,
                     skip_unless_ferryd)


class FtplibTest(ServerTestCase):
    CONFIG = {"max_line": 1024}

    # ---- login and errors
    def test_login(self):
        ftp = self.login("alice")
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        self.assertEqual(ftp.pwd(), "/")

    def test_wrong_password_530(self):
        ftp = self.connect()
        t0 = time.monotonic()
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.login("alice", "not-the-password")
        self.assertTrue(str(cm.exception).startswith("530"), str(cm.exception))
        if IS_FERRYD:
            # login_fail_delay_ms = 200 in the harness config
            self.assertGreaterEqual(time.monotonic() - t0, 0.15)
        # unknown user gets the same answer
        ftp2 = self.connect()
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp2.login("nosuchuser", "whatever")
        self.assertTrue(str(cm.exception).startswith("530"), str(cm.exception))

    def test_command_before_login_530(self):
        ftp = self.connect()
        for cmd in ("PWD", "CWD /", "LIST", "RETR x", "MKD d"):
            self.assertEqual(cmd_code(ftp, cmd), 530, cmd)
        # still usable: log in afterwards
        ftp.login("alice", self.srv.passwords["alice"])
        self.assertEqual(ftp.pwd(), "/")

    def test_unknown_command_502(self):
        ftp = self.login()
        code = cmd_code(ftp, "FROBNICATE now")
        if IS_FERRYD:
            self.assertEqual(code, 502)
        else:
            self.assertIn(code, (500, 502))
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))

    # ---- directories and names
    def test_dirs_and_renames(self):
        ftp = self.login()
        ftp.mkd("/dirs")
        ftp.cwd("/dirs")
        self.assertEqual(ftp.pwd(), "/dirs")
        self.assertTrue(os.path.isdir(os.path.join(self.srv.home("alice"), "dirs")))
        ftp.mkd("docs")
        ftp.cwd("docs")
        self.assertEqual(ftp.pwd(), "/dirs/docs")
        ftp.sendcmd("CDUP")
        self.assertEqual(ftp.pwd(), "/dirs")
        stor_bytes(ftp, "a.txt", b"alpha\n")
        ftp.rename("a.txt", "b.txt")
        home = self.srv.home("alice")
        self.assertFalse(os.path.exists(os.path.join(home, "dirs", "a.txt")))
        with open(os.path.join(home, "dirs", "b.txt"), "rb") as f:
            self.assertEqual(f.read(), b"alpha\n")
        # rename into the subfolder
        ftp.rename("b.txt", "docs/c.txt")
        self.assertTrue(os.path.isfile(os.path.join(home, "dirs", "docs", "c.txt")))
        # RMD of a non-empty dir fails, then empty it and remove it
        with self.assertRaises(ftplib.error_perm):
            ftp.rmd("docs")
        ftp.delete("docs/c.txt")
        self.assertFalse(os.path.exists(os.path.join(home, "dirs", "docs", "c.txt")))
        ftp.rmd("docs")
        self.assertFalse(os.path.exists(os.path.join(home, "dirs", "docs")))
        # errors: CWD to missing dir, DELE missing file, RNFR missing
        with self.assertRaises(ftplib.error_perm) as cm:
            ftp.cwd("nope")
        self.assertTrue(str(cm.exception).startswith("550"), str(cm.exception))
        with self.assertRaises(ftplib.error_perm):
            ftp.delete("nope.txt")
        with self.assertRaises(ftplib.error_perm):
            ftp.rename("nope.txt", "x.txt")
        self.assertEqual(ftp.pwd(), "/dirs")

    def test_list_nlst_mlsd(self):
        ftp = self.login()
        ftp.mkd("/lst")
        ftp.cwd("/lst")
        stor_bytes(ftp, "one.bin", make_bytes(1234))
        ftp.mkd("sub")
        names = sorted(ftp.nlst())
        self.assertEqual([os.path.basename(n) for n in names], ["one.bin", "sub"])
        lines = []
        ftp.retrlines("LIST", lines.append)
        text = "\n".join(lines)
        self.assertIn("one.bin", text)
        self.assertIn("sub", text)
        one = [l for l in lines if l.endswith("one.bin")]
        self.assertEqual(len(one), 1, text)
        self.assertIn("1234", one[0].split())
        sub = [l for l in lines if l.endswith("sub")]
        self.assertTrue(sub and sub[0].startswith("d"), text)
        entries = dict(ftp.mlsd(facts=["type", "size", "modify", "perm", "unique"]))
        self.assertIn("one.bin", entries)
        self.assertIn("sub", entries)
        f = entries["one.bin"]
        for fact in ("type", "size", "modify", "perm", "unique"):
            self.assertIn(fact, f, "MLSD facts of one.bin: %r" % f)
        self.assertEqual(f["type"], "file")
        self.assertEqual(f["size"], "1234")
        self.assertRegex(f["modify"], r"^\d{14}(\.\d+)?$")
        self.assertIn("r", f["perm"])
        self.assertEqual(entries["sub"]["type"], "dir")
        self.assertNotEqual(entries["sub"]["unique"], f["unique"])
        # Missing directory
        with self.assertRaises(ftplib.error_perm):
            list(ftp.mlsd("/no/such/dir"))

    @skip_unless_ferryd("pattern listings are ferryd's (and vsftpd's) extension")
    def test_list_and_nlst_with_a_pattern(self):
        ftp = self.login()
        ftp.mkd("/glob")
        ftp.cwd("/glob")
        # "*" cannot be in a Windows file name: the literal-name check runs on Linux only.
        literal = [] if harness.ON_WINDOWS else ["*.lit"]
        for name in ["a1.txt", "a2.txt", "b.txt", "a1.log", ".hidden.txt"] + literal:
            stor_bytes(ftp, name, b"g")
        ftp.mkd("logs")
        stor_bytes(ftp, "logs/2026-01.log", b"l")
        stor_bytes(ftp, "logs/2026-02.log", b"l")
        self.assertEqual(sorted(ftp.nlst("*.txt")), ["a1.txt", "a2.txt", "b.txt"])  # not .hidden.txt
        self.assertEqual(sorted(ftp.nlst("a?.*")), ["a1.log", "a1.txt", "a2.txt"])
        self.assertEqual(sorted(ftp.nlst("[ab]*.txt")), ["a1.txt", "a2.txt", "b.txt"])
        # the folder part comes back as typed, so mget can RETR each name as it is
        self.assertEqual(sorted(ftp.nlst("logs/2026-0?.log")), ["logs/2026-01.log", "logs/2026-02.log"])
        self.assertEqual(sorted(ftp.nlst("/glob/logs/*")), ["/glob/logs/2026-01.log", "/glob/logs/2026-02.log"])
        lines = []
        ftp.retrlines("LIST -l a*.txt", lines.append)
        self.assertEqual(sorted(l.split()[-1] for l in lines), ["a1.txt", "a2.txt"])
        self.assertEqual(ftp.nlst("*.nothing"), [])
        if literal:
            self.assertEqual(ftp.nlst("*.lit"), ["*.lit"])  # a name that exists is not a pattern
        with self.assertRaises(ftplib.error_perm):  # patterns only in the last component
            ftp.nlst("lo*/2026-01.log")
        with self.assertRaises(ftplib.error_perm):  # MLSD takes a folder, never a pattern
            list(ftp.mlsd("*.txt"))
        with self.assertRaises(ftplib.error_perm):  # too many stars to backtrack over: not a pattern
            ftp.nlst("*a*a*a*a*a*a*a*a*a*b")
        self.assertEqual(sorted(ftp.nlst("../glob/b*")), ["../glob/b.txt"])

    def test_size_mdtm(self):
        ftp = self.login()
        ftp.voidcmd("TYPE I")
        stor_bytes(ftp, "sized.bin", make_bytes(4321))
        self.assertEqual(ftp.size("sized.bin"), 4321)
        path = os.path.join(self.srv.home("alice"), "sized.bin")
        os.utime(path, (1600000000, 1600000000))  # 2020-09-13 12:26:40 UTC
        resp = ftp.sendcmd("MDTM sized.bin")
        self.assertTrue(resp.startswith("213 "), resp)
        stamp = resp[4:].strip()[:14]
        self.assertEqual(stamp, "20200913122640")
        with self.assertRaises(ftplib.error_perm):
            ftp.size("missing.bin")
        with self.assertRaises(ftplib.error_perm):
            ftp.sendcmd("MDTM missing.bin")

    # ---- transfers
    def _roundtrip(self, size, mode_up="pasv", mode_down="pasv"):
        ftp = self.login()
        name = "rt_%d_%s_%s.bin" % (size, mode_up, mode_down)
        local = make_file(self.lpath(name), size)
        back = self.lpath(name + ".back")
        ftp.set_pasv(mode_up == "pasv")
        harness.upload_file(ftp, local, name)
        remote_disk = os.path.join(self.srv.home("alice"), name)
        self.assertEqual(os.path.getsize(remote_disk), size)
        self.assertEqual(sha256_file(remote_disk), sha256_file(local))
        ftp.set_pasv(mode_down == "pasv")
        harness.download_file(ftp, name, back)
        self.assertEqual(os.path.getsize(back), size)
        self.assertEqual(sha256_file(back), sha256_file(local))
        os.unlink(back)

    def test_transfer_0_bytes(self):
        self._roundtrip(0)

    def test_transfer_1_byte(self):
        self._roundtrip(1)

    def test_transfer_1_mib(self):
        self._roundtrip(MiB, "port", "pasv")

    def test_transfer_64_mib(self):
        self._roundtrip(64 * MiB, "pasv", "port")

    def test_data_modes(self):
        ftp = self.login()
        data = make_bytes(300 * 1024, "modes")
        for mode in ("pasv", "epsv", "port", "eprt"):
            with self.subTest(mode=mode):
                name = "mode_%s.bin" % mode
                stor_bytes(ftp, name, data, mode=mode)
                got = retr_bytes(ftp, name, mode=mode)
                self.assertEqual(sha256_bytes(got), sha256_bytes(data))
                listing = harness.list_text(ftp, "NLST", mode=mode)
                self.assertIn(name, listing)
        resp = ftp.sendcmd("EPSV")
        self.assertTrue(resp.startswith("229"), resp)
        self.assertRegex(resp, r"\(\|\|\|\d+\|\)")
        # drop that unused passive socket by asking again with PASV
        resp = ftp.sendcmd("PASV")
        self.assertTrue(resp.startswith("227"), resp)
        self.assertIn("127,0,0,1", resp)

    def test_rest_resumes_cut_download(self):
        ftp = self.login()
        size = 8 * MiB
        local = make_file(self.lpath("resume_src.bin"), size)
        harness.upload_file(ftp, local, "resume.bin")
        part = self.lpath("resume_part.bin")
        ftp.voidcmd("TYPE I")
        conn, _ = open_data(ftp, "pasv", "RETR resume.bin")
        got = 0
        with open(part, "wb") as f:
            while got < 3 * MiB:
                b = conn.recv(min(65536, 3 * MiB - got))
                if not b:
                    break
                f.write(b)
                got += len(b)
        conn.close()  # cut it
        resp = raw_reply(ftp)  # 426/451 (cut) or 226 (server had already sent it all)
        self.assertIn(resp[0], "24", resp)
        self.assertEqual(got, 3 * MiB)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        harness.download_file(ftp, "resume.bin", part, rest=got)
        self.assertEqual(os.path.getsize(part), size)
        self.assertEqual(sha256_file(part), sha256_file(local))

    def _cut_upload(self, ftp, name, data, cut):
        ftp.voidcmd("TYPE I")
        conn, _ = open_data(ftp, "pasv", "STOR " + name)
        conn.sendall(data[:cut])
        conn.close()
        resp = raw_reply(ftp)
        self.assertIn(resp[0], "24", resp)
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        have = ftp.size(name)
        self.assertIsNotNone(have)
        self.assertLessEqual(have, cut)
        return have

    def test_rest_stor_resumes_cut_upload(self):
        ftp = self.login()
        data = make_bytes(4 * MiB, "upresume")
        have = self._cut_upload(ftp, "up_rest.bin", data, 1536 * 1024)
        stor_bytes(ftp, "up_rest.bin", data[have:], rest=have)
        disk = os.path.join(self.srv.home("alice"), "up_rest.bin")
        self.assertEqual(os.path.getsize(disk), len(data))
        self.assertEqual(sha256_file(disk), sha256_bytes(data))
        # REST + STOR at an offset inside the file overwrites from there and keeps the prefix
        stor_bytes(ftp, "up_rest.bin", b"Z" * 10, rest=100)
        with open(disk, "rb") as f:
            head = f.read(120)
        self.assertEqual(head[:100], data[:100])
        self.assertEqual(head[100:110], b"Z" * 10)

    def test_appe_resumes_cut_upload(self):
        ftp = self.login()
        data = make_bytes(3 * MiB + 17, "upappe")
        have = self._cut_upload(ftp, "up_appe.bin", data, MiB + 5)
        stor_bytes(ftp, "up_appe.bin", data[have:], cmd="APPE")
        got = retr_bytes(ftp, "up_appe.bin")
        self.assertEqual(len(got), len(data))
        self.assertEqual(sha256_bytes(got), sha256_bytes(data))
        # APPE to a new file creates it
        stor_bytes(ftp, "appe_new.bin", b"new", cmd="APPE")
        self.assertEqual(retr_bytes(ftp, "appe_new.bin"), b"new")

    def test_abor_during_download(self):
        ftp = self.login()
        local = make_file(self.lpath("abor.bin"), 64 * MiB)
        harness.upload_file(ftp, local, "abor.bin")
        os.unlink(local)
        ftp.voidcmd("TYPE I")
        conn, _ = open_data(ftp, "pasv", "RETR abor.bin")
        got = 0
        while got < MiB:
            b = conn.recv(65536)
            self.assertTrue(b, "data connection closed early")
            got += len(b)
        # Telnet IP + DM (in-band) then ABOR, as many clients send it
        raw_send(ftp, b"\xff\xf4\xff\xf2ABOR\r\n")
        conn.close()
        raw_send(ftp, b"NOOP\r\n")
        codes = []
        for _ in range(4):
            codes.append(int(raw_reply(ftp)[:3]))
            if codes[-1] == 200:
                break
        self.assertEqual(codes[-1], 200, codes)
        self.assertGreaterEqual(len(codes), 2, codes)
        for c in codes[:-1]:
            self.assertIn(c, (225, 226, 426, 451), codes)
        # the session is usable for another transfer
        self.assertEqual(retr_bytes(ftp, "abor.bin", rest=64 * MiB - 5), open_tail(self.srv, "abor.bin", 5))

    @skip_unless_ferryd("the exact ABOR reply pairs are ferryd's")
    def test_abor_racing_the_end_of_a_download_gets_exactly_two_replies(self):
        # A 1-byte download is done almost at once, so ABOR often lands while the transfer's
        # completion is already queued in the reactor. ABOR must then be the only answer (426 + 226,
        # or 226 + 225 when the transfer had ended): never a third, stale "226 Transfer complete",
        # which would answer the client's next command. (Chaos testing found it; 15% of rounds here.)
        ftp = self.login()
        stor_bytes(ftp, "one.bin", b"x")
        ftp.voidcmd("TYPE I")
        for i in range(300):
            conn, _ = open_data(ftp, "epsv", "RETR one.bin")
            if i % 2:
                conn.recv(10)
            raw_send(ftp, b"ABOR\r\n")
            pair = (int(raw_reply(ftp)[:3]), int(raw_reply(ftp)[:3]))
            raw_send(ftp, b"NOOP\r\n")
            after = raw_reply(ftp)
            conn.close()
            self.assertIn(pair, ((426, 226), (226, 225)), "round %d" % i)
            self.assertTrue(after.startswith("200"), "round %d: NOOP was answered %r after ABOR's %r" % (i, after, pair))

    def test_stou_unique(self):
        ftp = self.login()
        ftp.mkd("/stou")
        ftp.cwd("/stou")
        stor_bytes(ftp, "existing", b"old")
        before = set(ftp.nlst())
        for payload in (b"first-unique", b"second-unique"):
            ftp.voidcmd("TYPE I")
            conn, resp = open_data(ftp, "pasv", "STOU")
            self.assertTrue(resp.startswith("150") or resp.startswith("125"), resp)
            with conn:
                conn.sendall(payload)
            ftp.voidresp()
        after = set(ftp.nlst())
        new = sorted(os.path.basename(n) for n in after - before)
        self.assertEqual(len(new), 2, (before, after))
        contents = []
        for n in new:
            with open(os.path.join(self.srv.home("alice"), "stou", n), "rb") as f:
                contents.append(f.read())
        contents.sort()
        self.assertEqual(contents, [b"first-unique", b"second-unique"])
        self.assertEqual(retr_bytes(ftp, "existing"), b"old")

    def test_type_a_listing(self):
        ftp = self.login()
        stor_bytes(ftp, "typea.txt", b"line1\nline2\n")
        self.assertTrue(ftp.voidcmd("TYPE A").startswith("200"))
        text = harness.list_text(ftp, "LIST")
        self.assertIn("typea.txt", text)
        self.assertIn("\r\n", text)  # ASCII mode lists end lines with CR LF
        self.assertTrue(ftp.voidcmd("TYPE I").startswith("200"))

    def test_overlong_line_500(self):
        ftp = self.login()
        max_line = self.CONFIG["max_line"]
        raw_send(ftp, b"NOOP " + b"x" * (max_line * 3 // 2) + b"\r\n")
        first = raw_reply(ftp)
        self.assertTrue(first.startswith("500"), first)
        raw_send(ftp, b"NOOP\r\n")
        codes = []
        for _ in range(3):
            codes.append(int(raw_reply(ftp)[:3]))
            if codes[-1] == 200:
                break
        self.assertEqual(codes[-1], 200, codes)
        if IS_FERRYD:
            self.assertEqual(codes, [200], "the rest of the overlong line must be dropped")
        self.assertEqual(ftp.pwd(), "/")


def open_tail(srv, name, n):
    with open(os.path.join(srv.home("alice"), name), "rb") as f:
        f.seek(-n, os.SEEK_END)
        return f.read()


if __name__ == "__main__":
    unittest.main()
