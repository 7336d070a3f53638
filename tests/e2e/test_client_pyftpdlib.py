"""ferry against stock pyftpdlib, for what ferryd can't show: a server with neither HASH nor XMD5
(the client warns once and still works; a resume can't be proven) and a read-only account."""
import os

from client_support import PASSWORD, ClientTestCase, PyftpdServer, sha256_of


class PyftpdTestCase(ClientTestCase):
    def make_server(self):
        try:
            import pyftpdlib  # noqa: F401 - only to skip cleanly where the package is missing
        except ImportError:
            pass  # the server runs under /usr/bin/python3, which may still have it
        try:
            return PyftpdServer(self.work, users=[{"name": "user", "password": PASSWORD},
                                                  {"name": "reader", "password": PASSWORD, "perm": "elr"}])
        except (OSError, RuntimeError, ValueError) as e:
            self.skipTest("pyftpdlib is not available: %s" % e)


class NoHashServerTests(PyftpdTestCase):
    def test_warns_once_and_still_works(self):
        self.local_file("w.bin", 1 << 20, seed=11)
        result = self.ferry("put w.bin; get w.bin back.bin; put w.bin w2.bin")
        self.assertOk(result)
        self.assertEqual(result.stderr.count("neither HASH nor XMD5"), 1, result.stderr)
        self.assertIn("checked by size", result.stderr)
        self.assertEqual(sha256_of(self.lpath("w.bin")), sha256_of(self.lpath("back.bin")))
        self.assertEqual(sha256_of(self.lpath("w.bin")), sha256_of(self.remote("w2.bin")))

    def test_unprovable_prefix_is_overwritten_unless_resume_is_given(self):
        path = self.local_file("u.bin", 2 << 20, seed=12)
        with open(path, "rb") as f, open(self.remote("u.bin"), "wb") as out:
            out.write(f.read(100000))
        result = self.ferry("put u.bin")
        self.assertOk(result)
        self.assertIn("can't be proven", result.stdout)
        self.assertNotIn("resumed", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(self.remote("u.bin")))

        with open(path, "rb") as f, open(self.remote("u.bin"), "wb") as out:
            out.write(f.read(100000))
        result = self.ferry("put u.bin", "--resume")
        self.assertOk(result)
        self.assertIn("resumed, sent", result.stdout)
        self.assertEqual(sha256_of(path), sha256_of(self.remote("u.bin")))

    def test_permission_refusal(self):
        self.local_file("x.bin", 1000)
        result = self.ferry("put x.bin; mkdir d", user="reader")
        self.assertFailed(result)
        self.assertIn("put x.bin", result.stderr)
        self.assertIn("no permission", result.stderr)
        self.assertFalse(os.path.exists(self.remote("d", "reader")))
