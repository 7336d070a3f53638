"""The benchmark harness still works: `bench/run --quick` starts every server, runs every
workload at a small size, and writes its table. It never asserts on speed (issue 3)."""
import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import harness

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_base_port(first=9100, last=9900, step=10):
    """A base whose base+1..base+5 (one port per server) are free on loopback now, so the run does
    not depend on 9101-9105 being unused."""
    for base in range(first, last, step):
        probes = []
        try:
            for port in range(base + 1, base + 6):
                s = socket.socket()
                probes.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in probes:
                s.close()
    return first


@unittest.skipUnless(harness.IS_FERRYD, "the harness measures ferryd against its peers")
@unittest.skipUnless(os.geteuid() == 0, "bench/run needs root (it installs the peers)")
@harness.skip_on_windows("the bench harness runs Linux servers (vsftpd, ProFTPD, ...) side by side")
class BenchQuickTest(unittest.TestCase):

    def test_quick_run_writes_a_table_with_ferryd(self):
        out = tempfile.mkdtemp(prefix="ferry-bench-")
        self.addCleanup(shutil.rmtree, out, True)
        proc = subprocess.run([os.path.join(REPO, "bench", "run"), "--quick", "--ferryd", harness.ferryd_path(),
                               "--out", out, "--base-port", str(free_base_port())], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=420)
        text = proc.stdout.decode(errors="replace")
        self.assertEqual(proc.returncode, 0, text[-4000:])
        tables = glob.glob(os.path.join(out, "*.csv"))
        self.assertEqual(len(tables), 1, "expected one CSV in %s; output:\n%s" % (out, text[-2000:]))
        with open(tables[0], newline="") as f:
            rows = list(csv.DictReader(f))  # one row per (workload, metric, server)
        ferryd = [r for r in rows if r["server"] == "ferryd" and r["value"] not in ("", "n/a")]
        workloads = {r["workload"] for r in ferryd}
        self.assertGreaterEqual(len(workloads), 5, "ferryd measured only in %s:\n%s" % (sorted(workloads), text[-3000:]))
        peers = {r["server"] for r in rows if r["server"] != "ferryd" and r["value"] not in ("", "n/a")}
        self.assertTrue(peers, "no peer server produced a figure:\n" + text[-3000:])


if __name__ == "__main__":
    unittest.main()
