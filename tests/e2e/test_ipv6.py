"""IPv6: the control and data connections work over ::1, EPSV/EPRT carry v6, PASV is refused,
and EPRT to another v6 address is refused like PORT bounce on v4."""
import ftplib
import io
import socket
import unittest

import harness
from harness import IS_FERRYD, ServerTestCase, cmd_code, make_bytes


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(IS_FERRYD, "checks ferryd's IPv6 listener")
@unittest.skipUnless(ipv6_loopback_available(), "this machine has no ::1")
class Ipv6Test(ServerTestCase):
    CONFIG = {"listen": ["127.0.0.1:0", "[::1]:0"]}

    def setUp(self):
        super().setUp()
        m = self.srv.wait_log(r"listening on \[::1\]:(\d+)")
        self.assertIsNotNone(m, "no IPv6 listener in the log")
        self.v6_port = int(m.group(1))

    def login_v6(self):
        ftp = ftplib.FTP()
        ftp.connect("::1", self.v6_port, timeout=harness.TIMEOUT)
        ftp.login("alice", self.USERS["alice"])
        self._clients.append(ftp)
        return ftp

    def test_transfer_both_ways_over_epsv_and_eprt(self):
        ftp = self.login_v6()  # on a v6 connection ftplib uses EPSV (passive) and EPRT (active)
        data = make_bytes(300_000, seed="v6")
        ftp.storbinary("STOR v6.bin", io.BytesIO(data))
        for passive in (True, False):
            ftp.set_pasv(passive)
            out = io.BytesIO()
            ftp.retrbinary("RETR v6.bin", out.write)
            self.assertEqual(out.getvalue(), data, "passive=%s" % passive)

    def test_pasv_refused_on_ipv6(self):
        ftp = self.login_v6()
        self.assertEqual(cmd_code(ftp, "PASV"), 425)
        self.assertEqual(cmd_code(ftp, "EPSV 1"), 522)

    def test_eprt_to_another_address_refused(self):
        ftp = self.login_v6()
        self.assertGreaterEqual(cmd_code(ftp, "EPRT |2|::2|5000|"), 500)
        self.assertGreaterEqual(cmd_code(ftp, "EPRT |1|127.0.0.1|5000|"), 500)  # v4 target from a v6 client
        self.assertEqual(cmd_code(ftp, "EPRT |2|::1|5000|"), 200)


if __name__ == "__main__":
    unittest.main()
