"""ferry.exe, the Windows build of the client, under wine against ferryd: put, get, ls and the
verification line, plain and FTPS, put -r/get -r/sync of a tree, and Ctrl-C during a download (wine delivers SIGINT as the
console's CTRL_C_EVENT). Runs when FERRY_EXE names it (make test-windows)."""
import os
import signal
import subprocess
import time
import unittest

import harness

from client_support import RUN_TIMEOUT, ClientTestCase, make_test_cert, sha256_of, write_random

FERRY_EXE = os.environ.get("FERRY_EXE", "")
RUNNER = harness.EXE_RUNNER or ["wine"]


@unittest.skipUnless(FERRY_EXE and os.path.isfile(FERRY_EXE), "the Windows client (FERRY_EXE, make test-windows)")
class WindowsClientTests(ClientTestCase):
    def make_server(self):
        cert, key = make_test_cert(self.work)
        self.CONFIG = {"tls": "optional", "tls_cert": cert, "tls_key": key}
        return super().make_server()

    def base_args(self, user="user", port=None):
        args = RUNNER + [FERRY_EXE, "-s", "127.0.0.1", "-P", str(port or self.server.port)]
        return args + (["-u", user] if user else [])

    def round_trip(self, *flags):
        write_random(os.path.join(self.local, "up.bin"), 3 * 1024 * 1024 + 17)
        p = self.ferry("put up.bin; ls -l; get up.bin back.bin", *flags)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("up.bin", p.stdout)
        self.assertGreaterEqual((p.stdout + p.stderr).count("verified MD5"), 2, p.stdout + p.stderr)
        self.assertEqual(sha256_of(os.path.join(self.local, "back.bin")), sha256_of(os.path.join(self.local, "up.bin")))

    def test_put_ls_get_verified(self):
        self.round_trip()

    def test_put_ls_get_over_tls(self):
        self.round_trip("--tls", "--insecure")

    def test_put_r_get_r_and_sync_of_a_tree(self):
        from test_client_sync import make_tree, tree_digests
        make_tree(os.path.join(self.local, "tree"), small=40, large=(1 << 20,))
        p = self.ferry("put -r tree; get -r tree copy; sync up tree s; sync up tree s")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("put -r: 41 transferred", p.stdout)
        self.assertIn("get -r: 41 transferred", p.stdout)
        self.assertIn("nothing to transfer: 41 files unchanged (compared by MD5)", p.stdout)
        local = tree_digests(os.path.join(self.local, "tree"))
        self.assertEqual(local, tree_digests(os.path.join(self.server.home("user"), "tree")))
        self.assertEqual(local, tree_digests(os.path.join(self.local, "copy")))
        self.assertEqual(local, tree_digests(os.path.join(self.server.home("user"), "s")))

    def test_ctrl_c_aborts_a_download(self):
        write_random(os.path.join(self.server.home("user"), "big.bin"), 64 * 1024 * 1024)
        proxy = self.proxy(rate=4 * 1024 * 1024)  # slow enough that the download is still running
        proc = self.spawn("get big.bin", port=proxy.port)
        deadline = time.monotonic() + RUN_TIMEOUT
        part = os.path.join(self.local, "big.bin")
        while time.monotonic() < deadline and (not os.path.exists(part) or os.path.getsize(part) < 1024 * 1024):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertIn("ABOR sent", out + err)
        self.assertTrue(os.path.exists(part))
        self.assertLess(os.path.getsize(part), 64 * 1024 * 1024)
