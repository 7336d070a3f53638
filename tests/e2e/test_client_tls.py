"""ferry --tls (AUTH TLS, PROT P) with a self-signed certificate: against ferryd when it offers
AUTH TLS, and against pyftpdlib's TLS handler either way."""
import ftplib

from client_support import PASSWORD, ClientTestCase, PyftpdServer, make_test_cert, sha256_of


class TlsChecks:
    def test_tls_with_insecure_and_fingerprint_on_first_use(self):
        self.local_file("t.bin", 1 << 20, seed=13)
        result = self.ferry("put t.bin; ls; get t.bin back.bin", "--tls", "--insecure")
        self.assertOk(result)
        self.assertIn("fingerprint", result.stderr)
        self.assertEqual(sha256_of(self.lpath("t.bin")), sha256_of(self.lpath("back.bin")))
        again = self.ferry("ls", "--tls", "--insecure")
        self.assertOk(again)
        self.assertNotIn("fingerprint", again.stderr)

    def test_self_signed_certificate_is_refused_without_insecure(self):
        result = self.ferry("ls", "--tls")
        self.assertFailed(result)
        self.assertIn("certificate not trusted", result.stderr)
        self.assertIn("--insecure", result.stderr)


class FerrydTlsTests(TlsChecks, ClientTestCase):
    def make_server(self):
        cert, key = make_test_cert(self.work)
        self.CONFIG = {"tls": "optional", "tls_cert": cert, "tls_key": key}
        return super().make_server()

    def setUp(self):
        super().setUp()
        ftp = ftplib.FTP(timeout=20)
        try:
            ftp.connect("127.0.0.1", self.server.port)
            offered = ftp.sendcmd("FEAT")
        except ftplib.Error as e:
            offered = str(e)
        finally:
            ftp.close()
        if "AUTH TLS" not in offered:
            self.skipTest("this ferryd build does not offer AUTH TLS yet")


class PyftpdTlsTests(TlsChecks, ClientTestCase):
    def make_server(self):
        return PyftpdServer(self.work, users=[{"name": "user", "password": PASSWORD}], tls=make_test_cert(self.work))
