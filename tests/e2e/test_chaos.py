"""A bounded soak of random, overlapping sessions: uploads (some cut at the quota), downloads the
reader abandons, ABOR at any moment, metadata commands, FTPS sessions, PASV and PORT, and control
connections that vanish mid-transfer. After every operation the session must still answer NOOP
with 200 (a stale or missing reply would show there), no client may hang, and the server must stay
up, exit 0 on SIGTERM and, in `make test SAN=1`, keep the sanitizers quiet. It found a stale
"226 Transfer complete" after ABOR (see test_ftplib)."""
import collections
import ftplib
import io
import random
import socket
import ssl
import threading
import time

import harness
from harness import MiB, quit_quietly
from harness_ext import ExtServerTestCase, tls_config, tls_login

SECONDS = 20
THREADS = 8
OP_TIMEOUT = 20  # seconds for any one socket operation: longer means a hang


class Vanished(Exception):
    """The test dropped the control connection on purpose."""


def op_upload(ftp, rnd):
    data = rnd.randbytes(rnd.choice([0, 1, 1000, 300_000, 3 * MiB]))
    name = rnd.choice(["a.bin", "b.bin", "d/c.bin", "x y.bin"])
    if rnd.random() < 0.3:  # half of it, then the client closes: a complete (shorter) upload
        conn = ftp.transfercmd("STOR " + name)
        conn.sendall(data[: len(data) // 2])
        conn.close()
        ftp.voidresp()
    else:
        ftp.storbinary(("APPE " if rnd.random() < 0.2 else "STOR ") + name, io.BytesIO(data))


def op_download(ftp, rnd):
    name = rnd.choice(["a.bin", "b.bin", "d/c.bin", "missing"])
    mode = rnd.random()
    if mode < 0.3:  # the reader goes away mid-transfer
        conn = ftp.transfercmd("RETR " + name, rest=rnd.choice([None, 0, 10, 10**9]))
        conn.recv(1000)
        conn.close()
        try:
            ftp.voidresp()
        except ftplib.Error:
            pass
    elif mode < 0.5:  # ABOR at some moment of the transfer: exactly two replies follow
        conn = ftp.transfercmd("RETR " + name)
        conn.recv(100)
        ftp.sock.sendall(b"ABOR\r\n")
        conn.close()
        for _ in range(2):
            ftp.getmultiline()
    else:
        ftp.retrbinary("RETR " + name, lambda block: None)


def op_meta(ftp, rnd):
    cmd = rnd.choice(["LIST", "NLST", "MLSD", "HASH a.bin", "XMD5 b.bin", "SIZE a.bin", "MKD d", "RMD d",
                      "DELE a.bin", "RNFR b.bin", "RNTO a.bin", "SITE QUOTA", "AVBL", "STAT", "STAT d",
                      "SITE CHMOD 600 a.bin", "MLST a.bin", "CWD d", "CDUP", "ALLO 999999999"])
    if cmd in ("LIST", "NLST", "MLSD"):
        ftp.retrlines(cmd, lambda line: None)
    else:
        ftp.putcmd(cmd)
        ftp.getmultiline()


def op_vanish(ftp, rnd):
    if rnd.random() < 0.5:  # maybe in the middle of a download
        conn = ftp.transfercmd("RETR b.bin")
        conn.recv(10)
    ftp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    ftp.sock.close()
    raise Vanished()


OPS = [op_upload, op_download, op_meta, op_meta, op_vanish]
# What an upload runs into when the server cuts it at the quota: the client then writes into a
# closed data connection.
CUT_OFF = (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError)


@harness.skip_unless_ferryd("a soak of ferryd itself")
class ChaosTest(ExtServerTestCase):
    USERS = {"c%d" % i: ("c%d-pass-12" % i, (i % 3 + 1) * 4 * MiB) for i in range(4)}

    @classmethod
    def server_config(cls):
        config = dict(super().server_config())
        config.update(tls_config("optional"))
        config.update({"data_timeout": 3})
        return config

    def test_random_overlapping_sessions(self):
        stop_at = time.monotonic() + SECONDS
        problems, counts = [], collections.Counter()

        def session(rnd, user):
            secure = rnd.random() < 0.25
            ftp = tls_login(self.srv, user) if secure else self.srv.ftp(user)
            ftp.sock.settimeout(OP_TIMEOUT)
            ftp.set_pasv(rnd.random() < 0.5)
            trail = collections.deque(maxlen=12)
            try:
                for _ in range(rnd.randint(1, 15)):
                    op = rnd.choice(OPS)
                    counts[op.__name__] += 1
                    trail.append(op.__name__)
                    try:
                        op(ftp, rnd)
                    except (ftplib.error_perm, ftplib.error_temp):
                        pass  # refused, and answered: still in step
                    except CUT_OFF:
                        return  # the server's answer to the cut upload is not read: leave this session
                    ftp.sock.settimeout(OP_TIMEOUT)
                    reply = ftp.sendcmd("NOOP")  # the session is in step and alive
                    if not reply.startswith("200"):
                        problems.append("%s: NOOP answered %r after %s" % (user, reply, list(trail)))
                        return
                quit_quietly(ftp)
            except Vanished:
                pass
            except ftplib.Error as e:
                problems.append("%s%s: %r after %s" % (user, " (TLS)" if secure else "", e, list(trail)))
            except (socket.timeout, TimeoutError) as e:
                problems.append("%s: hung: %r after %s" % (user, e, list(trail)))
            finally:
                ftp.close()

        def worker(seed):
            rnd = random.Random(seed)
            while time.monotonic() < stop_at:
                try:
                    session(rnd, rnd.choice(sorted(self.USERS)))
                except Exception as e:  # anything else is a finding too
                    problems.append("unexpected %r" % e)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 3 * OP_TIMEOUT)
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread hung")
        self.assertEqual(problems, [], "ops run: %s" % dict(counts))
        self.assertGreater(sum(counts.values()), 200, dict(counts))
        self.assert_server_alive("c0")
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(marker, self.srv.stderr_text())
