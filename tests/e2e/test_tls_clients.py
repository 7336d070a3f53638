"""FTPS with client libraries that use each TLS 1.3 session ticket only once (OpenSSL's client drops a
ticket after resuming with it, as RFC 8446 C.4 advises): curl with many transfers on one control
connection, PHP's ftp extension (ftp_ssl_connect) and Ruby's net/ftp (ssl: true), ten data
connections in a row each, under tls_session_reuse = "required" (the default). Every data connection
must resume the control session, so each one that did leaves the client a new ticket on the control
connection; without that the third or fourth data connection gets 522. The same clients capped at
TLS 1.2 (session IDs and reusable tickets) must keep working."""
import os
import shutil
import unittest

import harness
from harness import MiB, make_file, run, sha256_file
from harness_ext import ExtServerTestCase, tls_config

CURL = shutil.which("curl")
PHP = shutil.which("php")
RUBY = shutil.which("ruby")
USER, PW = "tick", "tick-pw-123"
ROUNDS = 10

PHP_SCRIPT = r"""<?php
[$_, $port, $user, $pass, $local, $rounds] = $argv;
$c = ftp_ssl_connect("127.0.0.1", (int)$port, 30);
if (!$c || !ftp_login($c, $user, $pass)) { fwrite(STDERR, "login failed\n"); exit(3); }
ftp_pasv($c, true);
for ($i = 0; $i < (int)$rounds; $i++) {
    $name = "php$i.bin";
    switch ($i % 3) {
        case 0: $ok = ftp_put($c, $name, $local, FTP_BINARY); break;
        case 1: $ok = ftp_get($c, "$local.back$i", "php" . ($i - 1) . ".bin", FTP_BINARY); break;
        default: $ok = ftp_nlist($c, ".") !== false; break;
    }
    if (!$ok) { fwrite(STDERR, "data connection $i failed\n"); exit(4); }
    echo "ok $i\n";
}
ftp_close($c);
"""

RUBY_SCRIPT = r"""
require "net/ftp"
require "openssl"
port, user, pass, local, rounds, tls12 = ARGV
ssl = { verify_mode: OpenSSL::SSL::VERIFY_NONE }
ssl[:max_version] = OpenSSL::SSL::TLS1_2_VERSION if tls12 == "1"
ftp = Net::FTP.new("127.0.0.1", port: port.to_i, ssl: ssl, passive: true, username: user, password: pass)
rounds.to_i.times do |i|
  case i % 3
  when 0 then ftp.putbinaryfile(local, "rb#{i}.bin")
  when 1 then ftp.getbinaryfile("rb#{i - 1}.bin", "#{local}.back#{i}")
  else ftp.nlst(".")
  end
  puts "ok #{i}"
end
ftp.close
"""


@harness.skip_unless_ferryd("FTPS session reuse is ferryd's")
class OneUseTicketsTest(ExtServerTestCase):
    """tls = "required", tls_session_reuse left at its default ("required")."""
    USERS = {USER: PW}

    @classmethod
    def server_config(cls):
        return tls_config("required")

    def remote(self, name):
        return os.path.join(self.srv.home(USER), name)

    def curl_many(self, prefix, extra):
        """One curl, one control connection: uploads, then downloads of the same files. curl pairs the
        n-th -T and the n-th -o with the n-th URL, so the uploads' URLs get -o /dev/null."""
        base = "ftp://127.0.0.1:%d/" % self.srv.port
        args = [CURL, "-sS", "--ssl-reqd", "-k", "--max-time", "120", "--user", "%s:%s" % (USER, PW)] + extra
        locals_ = []
        for i in range(ROUNDS // 2):
            local = make_file(self.lpath("%s%d.bin" % (prefix, i)), 100000 + i)
            locals_.append(local)
            args += ["-T", local, "-o", os.devnull, base + os.path.basename(local)]
        for local in locals_:
            args += ["-o", local + ".back", base + os.path.basename(local)]
        p = run(args, timeout=180)
        self.assertEqual(p.returncode, 0, "curl exit %d: %s\n%s" % (p.returncode, p.stderr, self.srv.stderr_text()[-3000:]))
        for local in locals_:
            self.assertEqual(sha256_file(self.remote(os.path.basename(local))), sha256_file(local))
            self.assertEqual(sha256_file(local + ".back"), sha256_file(local))

    @unittest.skipIf(CURL is None, "curl not installed")
    def test_curl_ten_transfers_on_one_connection_tls13(self):
        self.curl_many("c13_", ["--tlsv1.3"])
        self.assertNotIn(" 522 ", self.srv.stderr_text())

    @unittest.skipIf(CURL is None, "curl not installed")
    def test_curl_ten_transfers_on_one_connection_tls12(self):
        self.curl_many("c12_", ["--tls-max", "1.2"])

    @unittest.skipIf(PHP is None, "php-cli not installed")
    def test_php_ftp_extension_ten_data_connections(self):
        script = self.lpath("client.php")
        with open(script, "w") as f:
            f.write(PHP_SCRIPT)
        local = make_file(self.lpath("php_src.bin"), MiB)
        p = run([PHP, script, str(self.srv.port), USER, PW, local, str(ROUNDS)], timeout=180)
        self.assertEqual(p.returncode, 0, "php exit %d: %s%s\n%s" % (p.returncode, p.stdout, p.stderr,
                                                                     self.srv.stderr_text()[-3000:]))
        self.assertEqual(p.stdout.count("ok "), ROUNDS)
        self.assertEqual(sha256_file(self.remote("php0.bin")), sha256_file(local))
        self.assertEqual(sha256_file(local + ".back1"), sha256_file(local))

    def ruby(self, prefix, tls12):
        script = self.lpath("client.rb")
        with open(script, "w") as f:
            f.write(RUBY_SCRIPT)
        local = make_file(self.lpath(prefix + "_src.bin"), MiB)
        p = run([RUBY, script, str(self.srv.port), USER, PW, local, str(ROUNDS), "1" if tls12 else "0"], timeout=180)
        self.assertEqual(p.returncode, 0, "ruby exit %d: %s%s\n%s" % (p.returncode, p.stdout, p.stderr,
                                                                      self.srv.stderr_text()[-3000:]))
        self.assertEqual(p.stdout.count("ok "), ROUNDS)
        self.assertEqual(sha256_file(self.remote("rb0.bin")), sha256_file(local))
        self.assertEqual(sha256_file(local + ".back1"), sha256_file(local))

    @unittest.skipIf(RUBY is None, "ruby not installed")
    def test_ruby_net_ftp_ten_data_connections_tls13(self):
        self.ruby("rb13", tls12=False)

    @unittest.skipIf(RUBY is None, "ruby not installed")
    def test_ruby_net_ftp_ten_data_connections_tls12(self):
        self.ruby("rb12", tls12=True)


if __name__ == "__main__":
    unittest.main()
