"""Quotas (issue 4): AVBL, SITE QUOTA, STAT, ALLO, STOR/APPE cut at the limit with 552, DELE and
overwrite accounting, two sessions of one user at once, resume after raising the quota."""
import ftplib
import io
import os
import re
import ssl
import threading
import time

import harness
from harness import MiB, cmd_code, make_bytes, open_data, sha256_bytes, sha256_file, stor_bytes, quit_quietly
from harness_ext import ExtServerTestCase, avbl, send_reply, site_quota, stor_try, tls_config, tls_login, user_cli

Q1 = 1 * MiB

_552_RE = re.compile(r"^552 Quota exceeded: used (\d+) of (\d+) bytes")


def home_usage(top):
    total = 0
    for dirpath, _dirs, files in os.walk(top):
        for f in files:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


@harness.skip_unless_ferryd("quotas are ferryd's")
class QuotaTest(ExtServerTestCase):
    USERS = {
        "qinfo": ("qinfo-pw-1", Q1),
        "qcut": ("qcut-pw-12", Q1),
        "qallo": ("qallo-pw-1", Q1),
        "qover": ("qover-pw-1", Q1),
        "qconc": ("qconc-pw-1", 8 * MiB),
        "qres1": ("qres1-pw-1", Q1),
        "qres2": ("qres2-pw-1", Q1),
        "qdef": "qdef-pw-12",
        "qunl": ("qunl-pw-12", "unlimited"),
        "qadmin": ("qadmin-pw-1", None, True),
        "qabor": ("qabor-pw-1", 16 * MiB),
    }
    CONFIG = {"default_quota": "3M"}

    def assert_552(self, resp, limit=None):
        m = _552_RE.match(resp)
        self.assertTrue(m, "expected '552 Quota exceeded: used X of Y bytes', got %r" % resp)
        if limit is not None:
            self.assertEqual(int(m.group(2)), limit, resp)
        return int(m.group(1)), int(m.group(2))

    # ---- reporting
    def test_feat_avbl_site_quota_stat(self):
        ftp = self.login("qinfo")
        feat = ftp.sendcmd("FEAT")
        self.assertIn(" AVBL", feat.splitlines(), feat)
        self.assertEqual(avbl(ftp), Q1)
        self.assertEqual(avbl(ftp, "/"), Q1)
        used, limit, free, text = site_quota(ftp)
        self.assertEqual((used, limit, free), (0, Q1, Q1), text)
        self.assertIn("qinfo", text)
        stor_bytes(ftp, "small.bin", make_bytes(1000, "qinfo"))
        self.assertEqual(avbl(ftp), Q1 - 1000)
        used, limit, free, text = site_quota(ftp)
        self.assertEqual((used, limit, free), (1000, Q1, Q1 - 1000), text)
        stat = send_reply(ftp, "STAT")
        self.assertTrue(stat.startswith("211"), stat)
        self.assertTrue(any("Quota" in l for l in stat.splitlines()[1:-1]), stat)
        # a second session of the same user sees the same usage
        ftp2 = self.login("qinfo")
        self.assertEqual(avbl(ftp2), Q1 - 1000)

    def test_default_and_unlimited(self):
        ftp = self.login("qdef")
        used, limit, free, text = site_quota(ftp)
        self.assertEqual((used, limit, free), (0, 3 * MiB, 3 * MiB), text)
        self.assertEqual(avbl(ftp), 3 * MiB)
        ftp2 = self.login("qunl")
        resp = send_reply(ftp2, "SITE QUOTA")
        self.assertTrue(resp.startswith("200 Quota for qunl: used 0"), resp)
        self.assertIn("no limit", resp)

    # ---- the limit
    def test_stor_appe_stop_at_limit_and_dele_frees(self):
        ftp = self.login("qcut")
        home = self.srv.home("qcut")
        first = make_bytes(300000, "qcut-a")
        stor_bytes(ftp, "a.bin", first)
        big = make_bytes(Q1, "qcut-b")
        resp, _ = stor_try(ftp, "b.bin", big)
        used, _limit = self.assert_552(resp, Q1)
        fit = Q1 - 300000
        with open(os.path.join(home, "b.bin"), "rb") as f:
            got = f.read()
        self.assertEqual(len(got), fit, "the file must hold exactly what fit")
        self.assertEqual(got, big[:fit])
        self.assertEqual(avbl(ftp), 0)
        self.assertEqual(site_quota(ftp)[0], Q1)
        self.assertEqual(home_usage(home), Q1)
        # full: a further upload stores nothing
        resp, _ = stor_try(ftp, "c.bin", make_bytes(5000, "qcut-c"))
        self.assertTrue(resp.startswith("552"), resp)
        self.assertEqual(home_usage(home), Q1)
        # DELE frees exactly the file's size
        ftp.delete("a.bin")
        self.assertEqual(avbl(ftp), 300000)
        # APPE past the limit stops at the limit too
        more = make_bytes(400000, "qcut-d")
        resp, _ = stor_try(ftp, "b.bin", more, cmd="APPE")
        self.assert_552(resp, Q1)
        self.assertEqual(os.path.getsize(os.path.join(home, "b.bin")), fit + 300000)
        with open(os.path.join(home, "b.bin"), "rb") as f:
            self.assertEqual(f.read(), big[:fit] + more[:300000])
        self.assertEqual(avbl(ftp), 0)
        self.assertLessEqual(home_usage(home), Q1)
        # an upload within the quota after freeing space works normally
        ftp.delete("b.bin")
        for name in os.listdir(home):
            if os.path.isfile(os.path.join(home, name)):
                ftp.delete(name)
        self.assertEqual(avbl(ftp), Q1)
        stor_bytes(ftp, "ok.bin", make_bytes(Q1 - 10, "ok"))
        self.assertEqual(avbl(ftp), 10)

    def test_allo(self):
        ftp = self.login("qallo")
        resp = send_reply(ftp, "ALLO %d" % (Q1 + 1))
        self.assertTrue(resp.startswith("552"), resp)
        self.assertEqual(cmd_code(ftp, "ALLO 1000"), 200)
        stor_bytes(ftp, "x.bin", make_bytes(Q1 - 500, "qallo"))
        self.assertTrue(send_reply(ftp, "ALLO 501").startswith("552"))
        self.assertEqual(cmd_code(ftp, "ALLO 500"), 200)
        self.assertEqual(avbl(ftp), 500)  # ALLO reserves nothing lasting, moves no byte
        self.assertEqual(cmd_code(ftp, "NOOP"), 200)

    def test_overwrite_counts_new_size(self):
        ftp = self.login("qover")
        data = make_bytes(600000, "qover")
        stor_bytes(ftp, "x.bin", data)
        self.assertEqual(avbl(ftp), Q1 - 600000)
        data2 = make_bytes(600000, "qover2")
        resp = stor_bytes(ftp, "x.bin", data2)  # 1.2 MB if both were counted
        self.assertTrue(resp.startswith("2"), resp)
        self.assertEqual(sha256_file(os.path.join(self.srv.home("qover"), "x.bin")), sha256_bytes(data2))
        self.assertEqual(avbl(ftp), Q1 - 600000)
        stor_bytes(ftp, "x.bin", b"0123456789")
        self.assertEqual(avbl(ftp), Q1 - 10)
        ftp.delete("x.bin")
        self.assertEqual(avbl(ftp), Q1)

    def test_an_upload_cut_mid_chunk_counts_what_it_wrote_and_frees_the_rest(self):
        # ABOR in the middle of a 4 MiB chunk: that chunk's reservation must not stay held.
        ftp = self.login("qabor")
        ftp.voidcmd("TYPE I")
        conn, _ = open_data(ftp, "pasv", "STOR cut.bin")
        conn.sendall(make_bytes(6 * MiB, "qabor"))
        path = os.path.join(self.srv.home("qabor"), "cut.bin")
        deadline = time.monotonic() + 10
        while os.path.getsize(path) < 6 * MiB and time.monotonic() < deadline:
            time.sleep(0.02)
        ftp.putcmd("ABOR")  # the data connection stays open: the chunk is cut, not finished
        resp = ftp.getmultiline()
        if resp.startswith("426"):
            resp = ftp.getmultiline()
        conn.close()
        self.assertTrue(resp[:3] in ("225", "226"), resp)
        self.assertEqual(avbl(ftp), 16 * MiB - os.path.getsize(path))

    def test_two_sessions_cannot_pass_quota(self):
        limit = 8 * MiB
        a, b = self.login("qconc"), self.login("qconc")
        payload = {"a": make_bytes(6 * MiB, "conc-a"), "b": make_bytes(6 * MiB, "conc-b")}
        results = {}
        barrier = threading.Barrier(2, timeout=20)

        def up(ftp, key):
            try:
                barrier.wait()
                results[key] = stor_try(ftp, key + ".bin", payload[key], chunk=64 * 1024, pause=0.001)[0]
            except Exception as e:  # noqa: BLE001 - reported below
                results[key] = "exception: %r" % (e,)

        threads = [threading.Thread(target=up, args=(a, "a")), threading.Thread(target=up, args=(b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.assertFalse(any(t.is_alive() for t in threads), "uploads did not finish")
        codes = sorted(results[k][:3] for k in ("a", "b"))
        self.assertIn("552", codes, results)
        for k in ("a", "b"):
            self.assertRegex(results[k], r"^(226|250|552)", results)
        home = self.srv.home("qconc")
        on_disk = home_usage(home)
        self.assertLessEqual(on_disk, limit, "two sessions together passed the quota: %r" % results)
        for k in ("a", "b"):  # what was written is a prefix of what was sent
            p = os.path.join(home, k + ".bin")
            with open(p, "rb") as f:
                got = f.read()
            self.assertEqual(got, payload[k][:len(got)])
        c = self.login("qconc")
        used, lim, free, text = site_quota(c)
        self.assertEqual(lim, limit)
        self.assertEqual(used, on_disk, "in-memory usage differs from the disk: " + text)
        self.assertEqual(avbl(c), limit - on_disk)

    # ---- resume after raising the quota
    def _cut_upload(self, user, data):
        ftp = self.login(user)
        resp, _ = stor_try(ftp, "big.bin", data)
        self.assert_552(resp, Q1)
        path = os.path.join(self.srv.home(user), "big.bin")
        self.assertEqual(os.path.getsize(path), Q1)
        return ftp, path

    def test_resume_after_cli_quota_raise(self):
        data = make_bytes(Q1 + MiB // 2, "res1")
        ftp, path = self._cut_upload("qres1", data)
        quit_quietly(ftp)
        p = user_cli(self.srv, "quota", "qres1", str(4 * MiB))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        ftp = self.login("qres1")  # applies at the next login
        used, limit, free, text = site_quota(ftp)
        self.assertEqual((used, limit), (Q1, 4 * MiB), text)
        self.assertEqual(ftp.size("big.bin"), Q1)
        resp = stor_bytes(ftp, "big.bin", data[Q1:], rest=Q1)
        self.assertTrue(resp.startswith("2"), resp)
        self.assertEqual(sha256_file(path), sha256_bytes(data))
        self.assertEqual(avbl(ftp), 4 * MiB - len(data))

    def test_resume_after_site_setquota(self):
        data = make_bytes(Q1 + MiB // 2, "res2")
        ftp, path = self._cut_upload("qres2", data)
        adm = self.login("qadmin")
        resp = send_reply(adm, "SITE SETQUOTA qres2 4M")
        self.assertTrue(resp.startswith("200"), resp)
        # applies at once to the running session
        used, limit, free, text = site_quota(ftp)
        self.assertEqual((used, limit), (Q1, 4 * MiB), text)
        resp, _ = stor_try(ftp, "big.bin", data[Q1:], cmd="APPE")
        self.assertTrue(resp.startswith("226") or resp.startswith("250"), resp)
        self.assertEqual(sha256_file(path), sha256_bytes(data))
        self.assertEqual(avbl(ftp), 4 * MiB - len(data))


@harness.skip_unless_ferryd("max_depth is ferryd's")
class DepthTest(ExtServerTestCase):
    """Files placed deeper than the usage scan reaches would drop out of usage at the next
    measurement (a restart): MKD, STOR and RNTO stop at max_depth (32 by default), well inside it."""
    USERS = {"deep": ("deep-pw-12", 8 * MiB), "mover": ("mover-pw-1", 8 * MiB)}

    def test_seventy_nested_folders_and_a_restart_keep_usage(self):
        ftp = self.login("deep")
        refused_at = None
        for level in range(1, 71):
            resp = send_reply(ftp, "MKD d%d" % level)
            if not resp.startswith("257"):
                self.assertTrue(resp.startswith("550") and "max_depth" in resp, resp)
                refused_at = level
                break
            ftp.cwd("d%d" % level)
        self.assertEqual(refused_at, 33, "MKD was not refused past max_depth = 32")
        # a file at depth 33 would be past the limit too; at 32 it is allowed
        self.assertEqual(stor_try(ftp, "bottom.bin", b"x" * 10)[0][:3], "550")
        ftp.cwd("..")
        self.assertTrue(stor_try(ftp, "bottom.bin", make_bytes(MiB))[0].startswith("226"))
        used_before = site_quota(ftp)[0]
        self.assertEqual(used_before, MiB)
        quit_quietly(ftp)
        self.srv.stop()
        self.srv.start()
        ftp = self.login("deep")
        self.assertEqual(site_quota(ftp)[0], MiB, "usage lost the deep file after a restart")

    def test_a_folder_moved_deeper_keeps_its_subfolders_within_max_depth(self):
        ftp = self.login("mover")
        path = ""
        for level in range(1, 21):
            path += "/a%d" % level
            ftp.mkd(path)
        tree = ""
        for level in range(1, 16):
            tree += "/t%d" % level
            ftp.mkd(tree)
        ftp.sendcmd("RNFR /t1")
        resp = send_reply(ftp, "RNTO %s/t1" % path)  # 20 + 15 levels: past 32
        self.assertTrue(resp.startswith("550") and "max_depth" in resp, resp)
        self.assertTrue(os.path.isdir(os.path.join(self.srv.home("mover"), "t1")))
        ftp.sendcmd("RNFR /t1")
        self.assertTrue(send_reply(ftp, "RNTO /a1/a2/a3/a4/a5/t1").startswith("250"))  # 5 + 15 levels


@harness.skip_unless_ferryd("quota usage is ferryd's")
class UploadEndingsTest(ExtServerTestCase):
    """Usage equals what is on disk after every way an upload can end: complete, ABOR, the data
    connection closed, the control connection closed, both at once, the data timeout, a shutdown,
    each over plain FTP and FTPS where it applies. (A node's death in a cluster: test_cluster's
    killed-node test, where the reservation expires.) Each ending is repeated: the race it catches
    (a chunk's completion still on its way to the upload when the session goes) is not every time."""
    USERS = {"ends": ("ends-pw-123", 512 * MiB)}
    REPEAT = 6

    @classmethod
    def server_config(cls):
        cfg = tls_config("optional")
        cfg["data_timeout"] = 2
        return cfg

    def home(self):
        return self.srv.home("ends")

    def ftp(self, tls):
        if tls:
            ftp = tls_login(self.srv, "ends")
        else:
            ftp = self.login("ends")
        ftp.voidcmd("TYPE I")
        return ftp

    def assert_usage_matches_disk(self, what):
        deadline = time.monotonic() + 10
        while True:  # the session that ended may still be settling on its reactor
            probe = self.login("ends")
            used = site_quota(probe)[0]
            quit_quietly(probe)
            on_disk = home_usage(self.home())
            if used == on_disk or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(used, on_disk, "%s: usage %d, the home holds %d" % (what, used, on_disk))

    def send_some(self, ftp, name, size=6 * MiB):
        conn = ftp.transfercmd("STOR " + name)
        conn.sendall(make_bytes(size, name))
        return conn

    def ending(self, label, end, tls_too=True):
        for tls in ((False, True) if tls_too else (False,)):
            for i in range(self.REPEAT):
                ftp = self.ftp(tls)
                end(ftp, "%s_%s_%d.bin" % (label, "tls" if tls else "plain", i))
                self.assert_usage_matches_disk("%s (%s, round %d)" % (label, "FTPS" if tls else "plain", i))

    def test_complete(self):
        def end(ftp, name):
            conn = self.send_some(ftp, name, 3 * MiB)
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()
            conn.close()
            ftp.voidresp()
            quit_quietly(ftp)
        self.ending("complete", end)

    def test_abor(self):
        def end(ftp, name):
            conn = self.send_some(ftp, name)
            try:
                resp = ftp.abort()
                if resp.startswith("426"):
                    ftp.voidresp()
            except ftplib.Error:
                pass
            conn.close()
            quit_quietly(ftp)
        self.ending("abor", end)

    def test_data_connection_closed(self):
        def end(ftp, name):
            conn = self.send_some(ftp, name)
            conn.close()  # no close_notify, no shutdown: a plain close
            try:
                ftp.getmultiline()
            except (ftplib.Error, OSError):
                pass
            quit_quietly(ftp)
        self.ending("dataclose", end)

    def test_control_connection_closed(self):
        def end(ftp, name):
            conn = self.send_some(ftp, name)
            ftp.sock.close()  # the session goes while its upload runs
            time.sleep(0.05)
            conn.close()
        self.ending("ctrlclose", end)

    def test_both_closed_at_once(self):
        """The server has read what was sent and waits for more (its chunk half full) when both
        connections close, in either order, within the same moment."""
        def end_data_first(ftp, name):
            conn = self.send_some(ftp, name, 700 * 1024)
            time.sleep(0.3)
            conn.close()
            ftp.sock.close()

        def end_control_first(ftp, name):
            conn = self.send_some(ftp, name, 700 * 1024)
            time.sleep(0.3)
            ftp.sock.close()
            conn.close()
        self.ending("both_data_first", end_data_first)
        self.ending("both_control_first", end_control_first)

    def test_data_timeout(self):
        def end(ftp, name):
            conn = self.send_some(ftp, name, 2 * MiB)
            resp = ftp.getmultiline()  # the server gives up after data_timeout (2 s) of silence
            self.assertTrue(resp.startswith("426"), resp)
            conn.close()
            quit_quietly(ftp)
        self.REPEAT, saved = 1, self.REPEAT
        try:
            self.ending("timeout", end)
        finally:
            self.REPEAT = saved

    def test_ascii_upload_ending_in_cr(self):
        """TYPE A holds a CR back until it sees what follows; a CR that ends the upload is written
        and counted like every other byte."""
        ftp = self.login("ends")
        ftp.voidcmd("TYPE A")
        conn, _ = open_data(ftp, "pasv", "STOR ascii_cr.txt")
        conn.sendall(b"line\r\nlast\r")
        conn.close()
        ftp.voidresp()
        quit_quietly(ftp)
        with open(os.path.join(self.home(), "ascii_cr.txt"), "rb") as f:
            self.assertEqual(f.read(), b"line\nlast\r")
        self.assert_usage_matches_disk("ASCII upload ending in CR")

    def test_shutdown_mid_upload(self):
        ftp = self.ftp(False)
        conn = self.send_some(ftp, "shutdown.bin")
        self.srv.stop(expect_zero=False)
        conn.close()
        self.srv.start()
        self.assert_usage_matches_disk("shutdown")


@harness.skip_unless_ferryd("quotas are ferryd's")
class QuotaOverFtpsTest(ExtServerTestCase):
    """A 552 that stops a PROT P upload reaches Python's FTP_TLS as shipped: ferryd ends the TLS data
    connection with close_notify, so storbinary's unwrap() completes and it reads the 552, and the
    next command gets its own reply. (FTP_TLS does not resume the control session: reuse optional.)"""
    USERS = {"tq": ("tq-pw-1234", Q1)}

    @classmethod
    def server_config(cls):
        cfg = tls_config("optional")
        cfg["tls_session_reuse"] = "optional"
        return cfg

    def test_storbinary_over_quota_reads_the_552(self):
        for round_ in range(3):
            ftp = ftplib.FTP_TLS(timeout=30)
            ftp.context.check_hostname = False
            ftp.context.verify_mode = ssl.CERT_NONE
            ftp.connect(harness.HOST, self.srv.port)
            ftp.login("tq", "tq-pw-1234")
            ftp.prot_p()
            try:
                with self.assertRaises(ftplib.error_perm) as caught:
                    ftp.storbinary("STOR over%d.bin" % round_, io.BytesIO(make_bytes(3 * MiB)))
            except ssl.SSLError as e:
                self.fail("round %d: storbinary failed in TLS instead of reading the 552: %r" % (round_, e))
            self.assertTrue(str(caught.exception).startswith("552"), caught.exception)
            self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")  # in step: NOOP gets its own reply
            ftp.delete("over%d.bin" % round_)
            ftp.quit()
