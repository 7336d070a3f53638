"""Certificates renewed without a restart (issue 29): SIGHUP reads tls_cert and tls_key again. New
connections get the new certificate, a session already connected keeps its own (its PROT P data
connections still resume its TLS session), and a pair that does not match, or a certificate out of
its dates, leaves the one in use. Renewals as certbot makes them (live/ links replaced by rename,
pointing into archive/) and in place, under Landlock where the kernel has it."""
import hashlib
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from harness_ext import ExtServerTestCase, ReuseFTP_TLS

USER, PW = "tina", "tina-pw-1"


def make_pair(folder, name, days="2"):
    """(cert, key) for CN=<name> in `folder`; days "-1" makes one that has expired."""
    cert, key, csr = (os.path.join(folder, name + ext) for ext in ("-cert.pem", "-key.pem", ".csr"))
    for cmd in (["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-subj", "/CN=" + name, "-keyout", key, "-out", csr],
                ["openssl", "x509", "-req", "-in", csr, "-key", key, "-out", cert, "-days", days]):
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
    return cert, key


def fingerprint_of_file(cert):
    with open(cert) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def retr_bytes(ftp, name):
    """RETR over ftplib's own data connection (TLS under PROT P, resuming the control session)."""
    chunks = []
    ftp.retrbinary("RETR " + name, chunks.append)
    return b"".join(chunks)


def replace_link(link, target):
    """What certbot does: a new link beside the old, renamed over it."""
    tmp = link + ".new"
    os.symlink(target, tmp)
    os.replace(tmp, link)


@harness.skip_on_windows("SIGHUP is POSIX; the Windows service reloads through its control code (issue 30)")
@harness.skip_unless_ferryd("certificate reload is ferryd's")
class TlsReloadTest(ExtServerTestCase):
    USERS = {USER: PW}

    @classmethod
    def server_config(cls):
        cls.certs = tempfile.mkdtemp(prefix="ferry-e2e-renew-")
        archive, live = os.path.join(cls.certs, "archive"), os.path.join(cls.certs, "live")
        os.makedirs(archive)
        os.makedirs(live)
        cls.pairs = {name: make_pair(archive, name, days) for name, days in
                     (("first", "2"), ("second", "2"), ("third", "2"), ("expired", "-1"))}
        cls.cert, cls.key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
        os.symlink("../archive/first-cert.pem", cls.cert)
        os.symlink("../archive/first-key.pem", cls.key)
        return {"tls": "optional", "tls_cert": cls.cert, "tls_key": cls.key}

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.certs, True)

    def served_fingerprint(self):
        ftp = ReuseFTP_TLS()
        try:
            ftp.connect("127.0.0.1", self.srv.port)
            ftp.auth()
            return hashlib.sha256(ftp.sock.getpeercert(binary_form=True)).hexdigest()
        finally:
            ftp.close()

    def renew(self, name, key_of=None):
        replace_link(self.cert, "../archive/%s-cert.pem" % name)
        replace_link(self.key, "../archive/%s-key.pem" % (key_of or name))

    def reload(self, outcome):
        before = self.srv.log_text().count(outcome)
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(harness_wait(lambda: self.srv.log_text().count(outcome) > before), outcome)

    def tls_session(self):
        ftp = ReuseFTP_TLS()
        ftp.connect("127.0.0.1", self.srv.port)
        ftp.login(USER, PW)
        ftp.prot_p()
        self._clients.append(ftp)
        return ftp

    def test_renewals_reach_new_connections_and_bad_pairs_are_refused(self):
        first, second, third = (fingerprint_of_file(self.pairs[n][0]) for n in ("first", "second", "third"))
        with open(os.path.join(self.srv.home(USER), "f.txt"), "wb") as f:
            f.write(b"kept across the reload")
        self.assertEqual(self.served_fingerprint(), first)
        old = self.tls_session()
        self.assertEqual(retr_bytes(old, "f.txt"), b"kept across the reload")

        # certbot's way: new files in archive/, the live/ links renamed over.
        self.renew("second")
        self.reload("tls: reloaded")
        self.assertEqual(self.served_fingerprint(), second)
        self.assertIn("CN=second", self.srv.log_text().split("tls: reloaded")[-1].split("\n")[0])
        # The session from before keeps its certificate; its data connections still resume it.
        self.assertEqual(hashlib.sha256(old.sock.getpeercert(binary_form=True)).hexdigest(), first)
        self.assertEqual(retr_bytes(old, "f.txt"), b"kept across the reload")
        self.assertEqual(old.data_resumed[-1], True)

        # A key that is not the certificate's: the one in use stays.
        self.renew("third", key_of="second")
        self.reload("tls: reload refused")
        self.assertIn("does not belong to the certificate", self.srv.log_text().split("tls: reload refused")[-1])
        self.assertEqual(self.served_fingerprint(), second)
        # An expired certificate (with its own key): refused too.
        self.renew("expired")
        self.reload("tls: reload refused")
        self.assertIn("expired", self.srv.log_text().split("tls: reload refused")[-1].split("\n")[0])
        self.assertEqual(self.served_fingerprint(), second)

        # In place: the files the links lead to rewritten.
        self.renew("second")
        for part in (0, 1):
            with open(self.pairs["third"][part], "rb") as src, open(self.pairs["second"][part], "wb") as dst:
                dst.write(src.read())
        self.reload("tls: reloaded")
        self.assertEqual(self.served_fingerprint(), third)
        new = self.tls_session()
        self.assertEqual(retr_bytes(new, "f.txt"), b"kept across the reload")
        self.assertEqual(new.data_resumed[-1], True)
        # The server still serves the first session, after all of it.
        self.assertEqual(retr_bytes(old, "f.txt"), b"kept across the reload")


def harness_wait(check, within=5.0):
    deadline = time.time() + within
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


if __name__ == "__main__":
    unittest.main()


@harness.skip_unless_ferryd("certificate reload is ferryd's")
class ReloadCommandTest(unittest.TestCase):
    """`ferryd reload` (the Windows way; on Linux it says to send SIGHUP): a renewed certificate
    reaches the next connection. Under wine in make test-windows."""

    def test_reload_command(self):
        folder = tempfile.mkdtemp(prefix="ferry-e2e-reload-")
        self.addCleanup(shutil.rmtree, folder, True)
        first, second = make_pair(folder, "first"), make_pair(folder, "second")
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        shutil.copy(first[0], cert)
        shutil.copy(first[1], key)
        with harness.FerryServer(config={"tls": "optional", "tls_cert": cert, "tls_key": key}, users={USER: PW}) as srv:
            reload = subprocess.run(harness.server_command() + ["--config", srv.config_path, "reload"],
                                    capture_output=True, text=True, timeout=60)
            if not harness.ON_WINDOWS:
                self.assertEqual(reload.returncode, 1)
                self.assertIn("send SIGHUP instead", reload.stderr)
                return
            self.assertEqual(self.served(srv), fingerprint_of_file(first[0]))
            shutil.copy(second[0], cert)  # in place
            shutil.copy(second[1], key)
            self.assertEqual(reload.returncode, 0, reload.stdout + reload.stderr)  # told before the copy: still the first
            reload = subprocess.run(harness.server_command() + ["--config", srv.config_path, "reload"],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(reload.returncode, 0, reload.stdout + reload.stderr)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.served(srv) != fingerprint_of_file(second[0]):
                time.sleep(0.2)
            self.assertEqual(self.served(srv), fingerprint_of_file(second[0]))
            self.assertGreaterEqual(srv.log_text().count("tls: reloaded"), 2)
        nobody = subprocess.run(harness.server_command() + ["--config", os.path.join(folder, "none.toml"), "reload"],
                                capture_output=True, text=True, timeout=60)
        self.assertNotEqual(nobody.returncode, 0)

    def served(self, srv):
        ftp = ReuseFTP_TLS()
        try:
            ftp.connect("127.0.0.1", srv.port)
            ftp.auth()
            return hashlib.sha256(ftp.sock.getpeercert(binary_form=True)).hexdigest()
        finally:
            ftp.close()
