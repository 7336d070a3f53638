"""A download past 2 GiB arrives byte for byte: the whole file, then from an offset beyond 2^31 (on
Windows each TransmitFile call is capped below 2 GiB and REST goes through the OVERLAPPED offset)."""
import hashlib
import os
import time

import harness
from harness import MiB, ServerTestCase, open_data, raw_reply

SIZE = 2 * 1024 * MiB + 12345  # past 2^31, and not a whole number of blocks
BLOCK = MiB


def write_big_file(path):
    """SIZE bytes in which every MiB differs; returns the SHA-256 of the whole and of the tail."""
    base = os.urandom(BLOCK)
    whole = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(SIZE // BLOCK + 1):
            block = (i.to_bytes(8, "little") + base[8:])[: min(BLOCK, SIZE - i * BLOCK)]
            if not block:
                break
            f.write(block)
            whole.update(block)
    return whole.hexdigest()


class LargeDownloadTest(ServerTestCase):
    USERS = {"alice": "alice-pw-1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.srv.home("alice"), "big.bin")
        cls.sha256 = write_big_file(cls.path)

    def _retr(self, rest=None):
        """(bytes, sha256, seconds) of RETR big.bin from `rest`."""
        ftp = self.login()
        ftp.voidcmd("TYPE I")
        conn, _ = open_data(ftp, "pasv", "RETR big.bin", rest=rest)
        digest, got, started = hashlib.sha256(), 0, time.monotonic()
        while True:
            data = conn.recv(4 * MiB)
            if not data:
                break
            digest.update(data)
            got += len(data)
        seconds = time.monotonic() - started
        conn.close()
        self.assertTrue(raw_reply(ftp).startswith("226"))
        ftp.quit()
        return got, digest.hexdigest(), seconds

    def test_a_download_past_2_gib_is_byte_identical(self):
        got, sha256, seconds = self._retr()
        self.assertEqual(got, SIZE)
        self.assertEqual(sha256, self.sha256)
        print("\n    RETR of %d bytes: %.0f MB/s (%s)" % (SIZE, SIZE / seconds / 1e6, "wine" if harness.ON_WINDOWS else "Linux"),
              end=" ", flush=True)

    def test_rest_beyond_2_gib(self):
        offset = (1 << 31) + 5
        got, sha256, _ = self._retr(rest=offset)
        self.assertEqual(got, SIZE - offset)
        with open(self.path, "rb") as f:
            f.seek(offset)
            self.assertEqual(sha256, hashlib.sha256(f.read()).hexdigest())
