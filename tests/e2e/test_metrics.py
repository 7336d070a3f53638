"""The Prometheus endpoint (issue 29, part 2): metrics_listen serves GET /metrics in the text
format, which `promtool check metrics` accepts; Debian's real `prometheus`, started here with a
scrape config pointing at ferryd, stores the series of a scripted session (logins ok and failed,
bytes both ways, sessions, an account's quota), asked back through its HTTP API."""
import ftplib
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness
from harness import FerryServer, quit_quietly

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, method="GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def samples(text):
    """{'name{labels}': value} of the exposition text."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


@harness.skip_on_windows("libmicrohttpd is not cross-built: metrics_listen is refused there (README)")
class MetricsTests(unittest.TestCase):
    def scripted_session(self, srv):
        ftp = srv.ftp("alice")
        try:
            ftp.storbinary("STOR data.bin", io.BytesIO(b"m" * 1000))
            ftp.retrbinary("RETR data.bin", lambda block: None)
        finally:
            quit_quietly(ftp)
        bad = ftplib.FTP()
        bad.connect("127.0.0.1", srv.port, timeout=10)
        with self.assertRaises(ftplib.error_perm):
            bad.login("alice", "wrong-password")
        quit_quietly(bad)

    def test_the_endpoint_and_promtool(self):
        port = free_port()
        with FerryServer(config={"metrics_listen": "127.0.0.1:%d" % port}, users={"alice": "alice-pw-123"}) as srv:
            self.scripted_session(srv)
            status, content_type, text = get("http://127.0.0.1:%d/metrics" % port)
            self.assertEqual(status, 200)
            self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
            values = samples(text)
            self.assertEqual(values['ferry_logins_total{result="ok"}'], 1)
            self.assertEqual(values['ferry_logins_total{result="failed"}'], 1)
            self.assertEqual(values['ferry_transfer_bytes_total{direction="upload"}'], 1000)
            self.assertEqual(values['ferry_transfer_bytes_total{direction="download"}'], 1000)
            self.assertEqual(values['ferry_transfers_total{direction="upload",result="complete"}'], 1)
            self.assertEqual(values['ferry_account_quota_used_bytes{account="alice"}'], 1000)
            self.assertGreater(values['ferry_account_quota_limit_bytes{account="alice"}'], 1000)
            self.assertGreaterEqual(values["ferry_sessions_opened_total"], 2)
            self.assertGreaterEqual(values['ferry_refusals_total{code="530"}'], 1)  # the wrong password
            self.assertIn('ferry_sessions{state="logged_in"}', values)
            self.assertIn('ferry_tls_handshakes_total{connection="control"}', values)
            self.assertIn("ferry_logins_cached_total", values)
            self.assertGreater(values["ferry_reactor_turn_seconds_count"], 0)
            self.assertGreater(values["ferry_io_pool_wait_seconds_count"], 0)
            self.assertGreater(values["process_resident_memory_bytes"], 1 << 20)
            self.assertEqual(get("http://127.0.0.1:%d/other" % port)[0], 404)
            self.assertEqual(get("http://127.0.0.1:%d/metrics" % port, "POST")[0], 405)
            self.assertIn("metrics: GET http://127.0.0.1:%d/metrics" % port, srv.log_text())
        if not PROMTOOL:
            self.skipTest("promtool is not installed (make deps installs prometheus)")
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_a_real_prometheus_scrapes_the_session(self):
        if not PROMETHEUS:
            self.skipTest("prometheus is not installed (make deps installs it)")
        port, prometheus_port = free_port(), free_port()
        work = tempfile.mkdtemp(prefix="ferry-prometheus-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ferryd\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % port)
        with FerryServer(config={"metrics_listen": "127.0.0.1:%d" % port}, users={"alice": "alice-pw-123"}) as srv:
            self.scripted_session(srv)
            with open(os.path.join(work, "prometheus.log"), "wb") as log:
                prometheus = subprocess.Popen([PROMETHEUS, "--config.file=" + os.path.join(work, "prometheus.yml"),
                                               "--storage.tsdb.path=" + os.path.join(work, "data"),
                                               "--web.listen-address=127.0.0.1:%d" % prometheus_port],
                                              stdout=log, stderr=subprocess.STDOUT)
            try:
                got = self.query_until(prometheus_port, {
                    'ferry_logins_total{result="ok"}': 1,
                    'ferry_logins_total{result="failed"}': 1,
                    'ferry_transfer_bytes_total{direction="upload"}': 1000,
                    'ferry_transfer_bytes_total{direction="download"}': 1000,
                    'ferry_account_quota_used_bytes{account="alice"}': 1000,
                    'up{job="ferryd"}': 1,
                })
                self.assertEqual(got, "", got)
            finally:
                prometheus.terminate()
                prometheus.wait(30)

    def test_a_bad_or_taken_address_stops_the_start(self):
        from harness import run, server_command
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            for address, code, said in (("localhost", 2, "expected an address and port"),
                                        ("127.0.0.1:%d" % taken.getsockname()[1], 1, "cannot listen on")):
                with tempfile.TemporaryDirectory() as folder:
                    config = os.path.join(folder, "ferryd.toml")
                    with open(config, "w") as f:
                        f.write('listen = ["127.0.0.1:0"]\nroot = "%s/homes"\nusers_file = "%s/users.toml"\n'
                                'metrics_listen = "%s"\n' % (folder, folder, address))
                    with open(os.path.join(folder, "users.toml"), "w") as f:
                        f.write("# no accounts\n")
                    p = run(server_command() + ["--config", config], timeout=30)
                self.assertEqual(p.returncode, code, p.stdout + p.stderr)
                self.assertIn(said, p.stdout + p.stderr)

    def query_until(self, prometheus_port, wanted, limit=60):
        """Asks Prometheus for each series until all have their values; "" or what is still off."""
        deadline = time.monotonic() + limit
        off = ""
        while time.monotonic() < deadline:
            off = ""
            for query, value in wanted.items():
                url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (prometheus_port, urllib.parse.quote(query))
                try:
                    status, _, body = get(url)
                except OSError as e:  # not listening yet
                    off += "%s: %s; " % (query, e)
                    continue
                result = json.loads(body).get("data", {}).get("result", []) if status == 200 else []
                seen = float(result[0]["value"][1]) if result else None
                if seen != value:
                    off += "%s = %s (wanted %s); " % (query, seen, value)
            if not off:
                return ""
            time.sleep(0.5)
        return off


if __name__ == "__main__":
    unittest.main()
