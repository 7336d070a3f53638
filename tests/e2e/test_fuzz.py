"""Seeded command fuzzing: every verb the server knows (and some it doesn't), with hostile arguments
(dot-dot walks, NULs, huge and negative numbers, malformed PORT/EPRT tuples, long and non-UTF-8
names). Every line must get a well-formed reply, the session must keep working, nothing outside the
home may change, and under `make test SAN=1` the sanitizers must stay quiet. Bounded: a fixed number
of lines, each with a reply deadline."""
import ftplib
import os
import random
import re
import socket

import harness
from harness import ServerTestCase, quit_quietly

SEED = 20261127
LINES = 1500
REPLY_DEADLINE = 15  # seconds, per line

VERBS = ("ACCT ALLO APPE AVBL CDUP CWD DELE EPRT FEAT HASH HELP LIST MDTM MFMT MKD MLSD MLST MODE "
         "NLST NOOP OPTS PBSZ PORT PROT PWD RANG REST RETR RMD RNFR RNTO SITE SIZE STAT STOR STOU STRU "
         "SYST TYPE XCRC XCUP XCWD XMD5 XMKD XPWD XRMD XSHA1 XSHA256 XSHA512 CCC ADAT LPRT LPSV MIC "
         "ENC CONF XRSQ XSEN SMNT").split()
SITE_SUBS = ("HELP QUOTA CHMOD ADDUSER DELUSER SETQUOTA REGISTER UTIME EXEC FROB").split()
OPTS_SUBS = ("UTF8 ON", "UTF8 OFF", "MLST type;size;", "MLST", "HASH SHA-1", "HASH NOPE", "HASH", "X Y")
# Safe here: no data connection is ever opened, so a transfer command fails fast (425) instead of
# waiting for one. PASV/EPSV would make the next transfer wait data_timeout for a client that never
# connects, so they are left out; PORT/EPRT only ever name closed or malformed targets.
NAMES = ["a", "b.txt", "dir", "dir/sub", "..", "../..", "/../../etc/passwd", "/", ".", "~", "~root",
         "*", "?", "a b", "%2e%2e/%2e%2e", "..\\..\\", "dir/../../..", "//", "/dir//sub/", "-la",
         "\u00e9t\u00e9", "\u202ereversed", "\U0001f600.bin", "x" * 300, "d/" * 80, "CON", "nul"]


def numbers(rnd):
    return rnd.choice(["0", "1", "-1", "4294967296", "18446744073709551616", "99999999999999999999999",
                       "0x10", "1e9", "", " ", "12abc", str(rnd.randint(0, 1 << 40))])


def argument(rnd, verb):
    if verb == "PORT":
        parts = [rnd.choice(["127", "0", "256", "-1", "", "a", "1"]) for _ in range(rnd.randint(0, 8))]
        return ",".join(parts)
    if verb == "EPRT":
        d = rnd.choice("|!x")
        return d.join(["", rnd.choice(["1", "2", "3", ""]), rnd.choice(["127.0.0.1", "::1", "x", "127.0.0.2", ""]),
                       numbers(rnd), ""])
    if verb in ("REST", "ALLO", "RANG"):
        return " ".join(numbers(rnd) for _ in range(rnd.randint(0, 3)))
    if verb == "MFMT":
        return rnd.choice(["20260101000000", "99999999999999", "2026", "x"]) + " " + rnd.choice(NAMES)
    if verb == "SITE":
        return rnd.choice(SITE_SUBS) + " " + " ".join(rnd.choice(NAMES + ["777", "0", "5M"])
                                                      for _ in range(rnd.randint(0, 3)))
    if verb == "OPTS":
        return rnd.choice(OPTS_SUBS)
    if verb in ("TYPE", "MODE", "STRU", "PROT", "PBSZ"):
        return rnd.choice(["A", "I", "E", "L 8", "A N", "S", "B", "C", "F", "R", "P", "0", "x" * 50, ""])
    name = rnd.choice(NAMES)
    if rnd.random() < 0.1:
        name += "\x00junk"
    return name


def make_line(rnd):
    verb = rnd.choice(VERBS)
    if rnd.random() < 0.2:
        verb = verb.lower()
    arg = argument(rnd, verb.upper())
    line = verb + (" " + arg if arg or rnd.random() < 0.5 else "")
    data = line.encode("utf-8", "surrogateescape")
    if rnd.random() < 0.05:  # invalid UTF-8
        data += b" \xc3\x28\xff\xfe"
    return data.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"


# Verbs that name or move files: before login each must be refused without touching anything.
FILE_VERBS = set("ALLO APPE AVBL CDUP CWD DELE EPRT HASH LIST MDTM MFMT MKD MLSD MLST NLST PORT PWD RANG REST "
                 "RETR RMD RNFR RNTO SIZE STOR STOU XCRC XCUP XCWD XMD5 XMKD XPWD XRMD XSHA1 XSHA256 "
                 "XSHA512".split())

REPLY_LINE = re.compile(rb"^([1-5]\d\d)([ -])")


def read_reply(f):
    """One reply (multi-line aware); returns its code, or raises on a malformed line or EOF."""
    first = f.readline()
    m = REPLY_LINE.match(first)
    if not m:
        raise AssertionError("malformed or missing reply line: %r" % first)
    if m.group(2) == b"-":
        end = m.group(1) + b" "
        while True:
            line = f.readline()
            if not line:
                raise AssertionError("connection closed inside a multi-line reply")
            if line.startswith(end):
                break
    return int(m.group(1))


@harness.skip_unless_ferryd("exact reply shapes under hostile input are ferryd's contract")
class FuzzTest(ServerTestCase):
    USERS = {"fuzzy": "fuzzy-pw-1", "calm": "calm-pw-12"}
    CONFIG = {"data_timeout": 3}

    def test_fuzz_before_login_touches_no_file(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=REPLY_DEADLINE)
        f = s.makefile("rb")
        try:
            self.assertEqual(read_reply(f), 220)
            rnd = random.Random(SEED + 1)
            for i in range(LINES // 5):
                line = make_line(rnd)
                s.sendall(line)
                code = read_reply(f)
                verb = line.split(b" ")[0].strip().upper().decode(errors="replace")
                if verb in FILE_VERBS:
                    self.assertIn(code, (500, 501, 530), "line %d %r before login" % (i, line))
            s.sendall(b"NOOP\r\n")
            self.assertEqual(read_reply(f), 200)
        finally:
            f.close()
            s.close()

    def test_seeded_command_fuzz(self):
        home = self.srv.home("fuzzy")
        os.makedirs(os.path.join(home, "dir", "sub"), exist_ok=True)
        with open(os.path.join(home, "b.txt"), "wb") as f:
            f.write(b"fuzz me\n" * 100)
        outside = os.path.join(self.srv.tmp, "outside-fuzz.txt")
        with open(outside, "wb") as f:
            f.write(b"untouched")
        os.symlink(outside, os.path.join(home, "out-link"))
        before = os.stat(outside)

        calm = self.login("calm")
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=REPLY_DEADLINE)
        f = s.makefile("rb")
        try:
            self.assertEqual(read_reply(f), 220)
            for line in (b"USER fuzzy\r\n", b"PASS fuzzy-pw-1\r\n"):
                s.sendall(line)
                code = read_reply(f)
            self.assertEqual(code, 230)
            rnd = random.Random(SEED)
            codes = {}
            for i in range(LINES):
                line = make_line(rnd)
                s.sendall(line)
                try:
                    code = read_reply(f)
                    while code < 200:  # a preliminary 1xx; the final reply follows
                        code = read_reply(f)
                except (AssertionError, OSError) as e:
                    self.fail("line %d %r: %s\nserver stderr tail:\n%s" % (i, line, e, self.srv.stderr_text()[-3000:]))
                self.assertNotEqual(code, 421, "line %d %r closed the session" % (i, line))
                codes[code // 100] = codes.get(code // 100, 0) + 1
            s.sendall(b"NOOP\r\n")
            self.assertEqual(read_reply(f), 200)
        finally:
            f.close()
            s.close()
        self.assertGreater(codes.get(5, 0), LINES // 10, codes)  # hostile input is mostly refused
        self.assertGreater(codes.get(2, 0), LINES // 10, codes)  # and the rest works
        self.assertEqual(calm.voidcmd("NOOP")[:3], "200")
        with open(outside, "rb") as g:
            self.assertEqual(g.read(), b"untouched")
        after = os.stat(outside)
        self.assertEqual((after.st_mode, after.st_mtime_ns, after.st_size),
                         (before.st_mode, before.st_mtime_ns, before.st_size))
        self.assertTrue(self.srv.alive())
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(marker, self.srv.stderr_text())
