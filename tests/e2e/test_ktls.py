"""FTPS downloads and the send path they take. Where the kernel offers kernel TLS (`tls` in
/proc/sys/net/ipv4/tcp_available_ulp) ferryd sends files with SSL_sendfile (kTLS); elsewhere, and
with `ktls = "off"`, OpenSSL seals every record (SSL_write from a buffer). ferryd never seals a
record itself. ferryd's log says which for every data connection. KTLS_EXPECT=ktls or =fallback (set by `make test-ktls`
in its VM) makes the kernel's side explicit, so a kTLS path that silently did not run fails these
tests.

Each download is byte-identical (SHA-256): TLS 1.3 with AES-128-GCM, AES-256-GCM and
ChaCha20-Poly1305, TLS 1.2; a range read past 2 GiB of a sparse 3 GiB file (REST); ABOR in the
middle of a send; a file that an upload is writing never goes through kTLS sendfile; with
`ktls = "off"` OpenSSL seals every record."""
import hashlib
import os
import re
import threading
import time

from harness import ON_WINDOWS, MiB, ServerTestCase, make_file, run, sha256_file, skip_unless_ferryd
from harness_ext import ReuseFTP_TLS, tls_config

SIZE = 16 * MiB
SPARSE = 3 << 30
RANGE_START = (2 << 30) - 4 * MiB
RANGE_LEN = 8 * MiB


def kernel_offers_ktls():
    try:
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
            return "tls" in f.read().split()
    except OSError:
        return False


KERNEL = os.environ.get("KTLS_EXPECT") or ("ktls" if kernel_offers_ktls() else "fallback")
PATH_LINE = {"ktls": "kTLS sendfile", "openssl": "SSL_write from buffer"}
SEND_RE = re.compile(r"tls: send_file to \S+ uses (kTLS sendfile|SSL_write from buffer|records sealed by ferryd)(.*)")
# What a settled file takes over TLS 1.3 and over TLS 1.2 on this kernel (the Windows build has no
# kTLS). "records sealed by ferryd" is matched so that a build that still sealed would fail.
TLS13_PATH = "openssl" if ON_WINDOWS else "ktls" if KERNEL == "ktls" else "openssl"
TLS12_PATH = TLS13_PATH



@skip_unless_ferryd("reads ferryd's log")
class KtlsDownloadTests(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}
    CONFIG = dict(tls_config("optional"), default_quota="unlimited")  # the sparse file counts 3 GiB

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        home = cls.srv.home("alice")
        cls.src = make_file(os.path.join(home, "sixteen.bin"), SIZE, seed="ktls")
        cls.sparse = os.path.join(home, "sparse.bin")
        with open(cls.sparse, "wb") as f:
            f.truncate(SPARSE)
            f.seek(RANGE_START + MiB)
            block = hashlib.sha256(b"past 2 GiB").digest() * (MiB // 32)
            f.write(block * 2)  # data in the middle of the range; holes around it
        cls.range_sha = None

    def send_paths(self, before):
        """The send paths ferryd logged since `before` (an offset into its log)."""
        return SEND_RE.findall(self.srv.log_text()[before:])

    def curl_get(self, path, *extra):
        out = self.lpath(os.path.basename(path) + ".got")
        if os.path.exists(out):
            os.remove(out)
        before = len(self.srv.log_text())
        p = run(["curl", "-sS", "--ssl-reqd", "-k", "-o", out] + list(extra) + [self.srv.url(path, "alice")],
                timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        deadline = time.monotonic() + 5
        while not self.send_paths(before) and time.monotonic() < deadline:
            time.sleep(0.05)
        return out, self.send_paths(before)

    def assert_path(self, paths, expect=TLS13_PATH):
        self.assertEqual(len(paths), 1, paths)
        self.assertEqual(PATH_LINE[expect], paths[0][0], paths)

    def test_tls13_suites_and_tls12_are_byte_identical(self):
        want = sha256_file(self.src)
        variants = [(["--tlsv1.3", "--tls13-ciphers", suite], TLS13_PATH)
                    for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")]
        variants.append((["--tlsv1.2", "--tls-max", "1.2"], TLS12_PATH))
        for extra, expect in variants:
            with self.subTest(tls=" ".join(extra)):
                out, paths = self.curl_get("/sixteen.bin", *extra)
                self.assertEqual(sha256_file(out), want)
                self.assert_path(paths, expect)

    def test_a_range_past_2_gib_of_a_sparse_file(self):
        end = RANGE_START + RANGE_LEN - 1
        out, paths = self.curl_get("/sparse.bin", "-r", "%d-%d" % (RANGE_START, end))
        with open(self.sparse, "rb") as f:
            f.seek(RANGE_START)
            want = hashlib.sha256(f.read(RANGE_LEN)).hexdigest()
        self.assertEqual(os.path.getsize(out), RANGE_LEN)
        self.assertEqual(sha256_file(out), want)
        self.assert_path(paths)

    def test_abor_in_the_middle_of_a_send(self):
        ftp = ReuseFTP_TLS()
        ftp.connect("127.0.0.1", self.srv.port)
        ftp.login("alice", "alice-pw-1")
        ftp.prot_p()
        before = len(self.srv.log_text())
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR sixteen.bin")
        got = 0
        while got < MiB:
            got += len(conn.recv(65536))
        first = ftp.abort()
        second = ftp.getmultiline()
        self.assertTrue(first.startswith("426"), first)
        self.assertTrue(second.startswith("226"), second)
        conn.close()
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        ftp.quit()
        self.assert_path(self.send_paths(before))

    def test_a_file_being_uploaded_is_not_sent_with_ktls(self):
        growing = os.path.join(self.srv.home("alice"), "growing.bin")
        make_file(growing, 4 * MiB, seed="growing")
        uploader = ReuseFTP_TLS()
        uploader.connect("127.0.0.1", self.srv.port)
        uploader.login("alice", "alice-pw-1")
        uploader.prot_p()
        uploader.voidcmd("TYPE I")
        conn = uploader.transfercmd("APPE growing.bin")
        stop = threading.Event()

        def keep_writing():
            while not stop.is_set():
                conn.sendall(b"x" * 65536)
                time.sleep(0.05)
        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            time.sleep(0.3)
            out, paths = self.curl_get("/growing.bin", "-r", "0-%d" % (4 * MiB - 1))
            with open(growing, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read(4 * MiB)).hexdigest(), sha256_file(out))
            # kTLS would encrypt page-cache pages that may still change; a copy is safe either way
            self.assert_path(paths, "openssl" if KERNEL == "ktls" else TLS13_PATH)
            if KERNEL == "ktls":
                self.assertIn("the file is being uploaded", paths[0][1])
        finally:
            stop.set()
            writer.join(10)
            conn.close()
            uploader.voidresp()
            uploader.quit()
        # once the upload is over, the same file goes through kTLS again (where there is kTLS)
        _, paths = self.curl_get("/growing.bin", "-r", "0-%d" % (MiB - 1))
        self.assert_path(paths)


@skip_unless_ferryd("reads ferryd's log")
class KtlsOffTests(ServerTestCase):
    """`ktls = "off"`: the kernel does not take the records over; OpenSSL seals them all."""
    USERS = {"alice": "alice-pw-1"}
    CONFIG = dict(tls_config("optional"), ktls="off")

    def test_tls13_downloads_are_sealed_by_openssl(self):
        src = make_file(os.path.join(self.srv.home("alice"), "four.bin"), 4 * MiB, seed="ktls-off")
        out = self.lpath("four.got")
        before = len(self.srv.log_text())
        p = run(["curl", "-sS", "--ssl-reqd", "-k", "--tlsv1.3", "-o", out, self.srv.url("/four.bin", "alice")],
                timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sha256_file(out), sha256_file(src))
        self.srv.wait_log(SEND_RE, 5)
        paths = SEND_RE.findall(self.srv.log_text()[before:])
        self.assertEqual([path for path, _ in paths], [PATH_LINE["openssl"]])
