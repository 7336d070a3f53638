"""The PROXY protocol behind a real HAProxy (TCP mode, send-proxy-v2 and send-proxy): ferryd serves,
logs, limits and bans the real client's address, refuses connections that are not from a trusted
balancer or carry no header, and PASV data connections go to the node directly."""
import ftplib
import re
import shutil
import socket
import struct
import time
import unittest

from harness import (TIMEOUT, FerryServer, ftp_from, quit_quietly, retr_bytes, skip_on_windows, stor_bytes)
from cluster import HAProxy

BALANCER = "127.0.0.20"


@skip_on_windows("the PROXY protocol is Linux-only")
@unittest.skipUnless(shutil.which("haproxy"), "haproxy is not installed (make deps installs it)")
class ProxyProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = FerryServer(config={"proxy_protocol": True, "proxy_trusted": [BALANCER],
                                      "max_sessions_per_ip": 2, "ban_threshold": 3,
                                      "proxy_header_timeout": 1000},
                              users={"alice": "alice-pw-1"})
        cls.addClassCleanup(cls.srv.cleanup)
        cls.addClassCleanup(cls.srv.stop)
        node = "127.0.0.1:%d" % cls.srv.port
        cls.haproxy = HAProxy({"v2": ([node], "send-proxy-v2 source " + BALANCER),
                               "v1": ([node], "send-proxy source " + BALANCER),
                               "untrusted": ([node], "send-proxy-v2 source 127.0.0.21"),
                               "plain": ([node], "source " + BALANCER)})
        cls.addClassCleanup(cls.haproxy.stop)

    def login(self, frontend, source):
        ftp = ftp_from(source, self.haproxy.port(frontend), "alice", "alice-pw-1")
        self.addCleanup(quit_quietly, ftp)
        return ftp

    def test_the_session_is_the_real_clients_v2_and_v1(self):
        for frontend, source in (("v2", "127.0.0.3"), ("v1", "127.0.0.4")):
            ftp = self.login(frontend, source)
            self.assertIn("Connected to " + source, ftp.sendcmd("STAT"))
            log = self.srv.log_text()
            self.assertRegex(log, r"proxy_protocol: %s:\d+ forwards %s:\d+" % (re.escape(BALANCER), re.escape(source)))
            self.assertRegex(log, r"session \d+ %s alice logged in" % re.escape(source))

    def test_pasv_and_port_through_the_balancer(self):
        ftp = self.login("v2", "127.0.0.5")
        data = b"through the balancer\n" * 1000
        stor_bytes(ftp, "lb.txt", data)                      # PASV: the client's data connection goes to the node
        self.assertEqual(retr_bytes(ftp, "lb.txt"), data)
        self.assertEqual(retr_bytes(ftp, "lb.txt", mode="port"), data)  # PORT: to the real client's address
        self.assertIn("127.0.0.5", self.srv.xferlog_text())

    def test_a_data_connection_from_another_address_is_refused(self):
        ftp = self.login("v2", "127.0.0.6")
        reply = ftp.sendcmd("PASV")
        nums = [int(n) for n in re.search(r"\((\d+(?:,\d+){5})\)", reply).group(1).split(",")]
        with socket.create_connection(("127.0.0.1", nums[4] * 256 + nums[5]), source_address=("127.0.0.7", 0)):
            pass  # the peer check is against 127.0.0.6 (the header's), not the balancer's address
        deadline = time.monotonic() + 5
        while "refused: control peer is 127.0.0.6" not in self.srv.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("data connection from 127.0.0.7", self.srv.log_text())
        self.assertIn("refused: control peer is 127.0.0.6", self.srv.log_text())

    def test_per_ip_limit_counts_the_real_client(self):
        first, second = self.login("v2", "127.0.0.8"), self.login("v2", "127.0.0.8")
        with self.assertRaises(ftplib.error_temp) as refused:
            ftp_from("127.0.0.8", self.haproxy.port("v2"))
        self.assertTrue(str(refused.exception).startswith("421"))
        other = self.login("v2", "127.0.0.9")   # the same balancer, another client: admitted
        for ftp in (first, second, other):
            self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
        self.assertIn("too many sessions from 127.0.0.8", self.srv.log_text())

    def test_bans_hit_the_real_client_only(self):
        for _ in range(3):
            ftp = ftp_from("127.0.0.10", self.haproxy.port("v2"))
            with self.assertRaises(ftplib.Error):  # 530, and 421 for the one that bans
                ftp.login("alice", "wrong")
            quit_quietly(ftp)
        with self.assertRaises((ftplib.error_temp, EOFError, ConnectionError)):
            ftp_from("127.0.0.10", self.haproxy.port("v2"), "alice", "alice-pw-1")
        self.login("v2", "127.0.0.11")           # the balancer itself is not banned
        self.assertRegex(self.srv.log_text(), r"defender: banned 127\.0\.0\.10\b")

    def test_untrusted_balancer_missing_header_and_direct_connections_are_closed(self):
        for connect in (lambda: ftp_from("127.0.0.12", self.haproxy.port("untrusted")),
                        lambda: ftp_from("127.0.0.12", self.haproxy.port("plain")),
                        lambda: ftplib.FTP(timeout=TIMEOUT).connect("127.0.0.1", self.srv.port)):
            with self.assertRaises((EOFError, ConnectionError, socket.timeout, ftplib.Error)):
                connect()
        log = self.srv.log_text()
        self.assertRegex(log, r"proxy_protocol: refused connection from 127\.0\.0\.21:\d+: not in proxy_trusted")
        self.assertRegex(log, r"proxy_protocol: refused connection from 127\.0\.0\.1:\d+: not in proxy_trusted")
        # The plain frontend is trusted but sends no header: the client waits for a banner, the
        # header never comes, and the node gives up after proxy_header_timeout.
        self.assertRegex(log, r"proxy_protocol: closed connection from 127\.0\.0\.20:\d+: no PROXY protocol header within 1000 ms")
        self.assert_alive()

    def test_a_header_spoken_by_hand(self):
        with socket.create_connection(("127.0.0.1", self.srv.port), source_address=(BALANCER, 0)) as raw:
            raw.sendall(b"PROXY TCP4 198.51.100.9 127.0.0.1 40000 21\r\n")
            raw.settimeout(TIMEOUT)
            self.assertTrue(raw.recv(100).startswith(b"220"))
        with socket.create_connection(("127.0.0.1", self.srv.port), source_address=(BALANCER, 0)) as raw:
            sig = b"\r\n\r\n\x00\r\nQUIT\n"
            raw.sendall(sig + bytes([0x21, 0x11]) + struct.pack("!H", 12) + socket.inet_aton("198.51.100.10")
                        + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 40001, 21))
            raw.settimeout(TIMEOUT)
            self.assertTrue(raw.recv(100).startswith(b"220"))
        with socket.create_connection(("127.0.0.1", self.srv.port), source_address=(BALANCER, 0)) as raw:
            raw.sendall(b"PROXY TCP4 198.51.100.11 127.0.0.1 40000\r\n")  # a field missing
            raw.settimeout(TIMEOUT)
            try:
                self.assertEqual(raw.recv(100), b"")  # closed without a banner
            except ConnectionResetError:
                pass  # or reset: the header it did not take was still unread
        log = self.srv.log_text()
        self.assertIn("forwards 198.51.100.9:40000", log)
        self.assertIn("forwards 198.51.100.10:40001", log)
        self.assertRegex(log, r"closed connection from 127\.0\.0\.20:\d+: PROXY v1: expected")

    def assert_alive(self):
        ftp = self.login("v2", "127.0.0.13")
        self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))


if __name__ == "__main__":
    unittest.main()
