#!/usr/bin/env python3
"""Run the doctest unit tests ($UNIT_TESTS) and the end-to-end tests (tests/e2e/test_*.py).

    python3 tests/run_all.py [--e2e-only] [-k PATTERN]...

Ends with one line "N passed, N failed, N skipped" (totals of both) and exits 1 if anything failed.
"""
import argparse
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(HERE, "e2e")
UNIT_TIMEOUT = 600

_SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+)\s+passed\s*\|\s*(\d+)\s+failed"
                      r"(?:\s*\|\s*(\d+)\s+skipped)?")


def run_unit():
    """Returns (passed, failed, skipped)."""
    exe = os.environ.get("UNIT_TESTS")
    print("=== unit tests: %s" % exe, flush=True)
    if not exe or not os.path.isfile(exe):
        print("UNIT_TESTS is not set or not a file (%r): counted as 1 failure" % exe, flush=True)
        return 0, 1, 0
    try:
        runner = os.environ.get("EXE_RUNNER", "").split()  # "wine" for the Windows build
        p = subprocess.run(runner + [exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT,
                           cwd=os.path.dirname(HERE))
        out = p.stdout.decode(errors="replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + "\n*** unit tests timed out after %ds\n" % UNIT_TIMEOUT
        rc = None
    sys.stdout.write(out)
    sys.stdout.flush()
    m = None
    for m in _SUMMARY.finditer(out):
        pass
    if m is None:
        print("no doctest summary line found (exit %s): counted as 1 failure" % rc, flush=True)
        return 0, 1, 0
    total, passed, failed = int(m.group(1)), int(m.group(2)), int(m.group(3))
    skipped = int(m.group(4) or 0)
    if rc != 0 and failed == 0:
        print("unit test binary exited %s with no failed test case: counted as 1 failure" % rc, flush=True)
        failed = 1
    del total
    return passed, failed, skipped


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.successes = 0
        self.durations = []

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.durations.append((time.monotonic() - self._t0, test.id()))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.successes += 1


def run_e2e(patterns):
    print("=== end-to-end tests (server under test: %s, FERRYD=%s)" % (
        os.environ.get("SERVER_UNDER_TEST", "ferryd"), os.environ.get("FERRYD")), flush=True)
    sys.path.insert(0, E2E)
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in patterns]
    suite = loader.discover(E2E, pattern="test_*.py", top_level_dir=E2E)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    slow = sorted(result.durations, reverse=True)[:5]
    if slow:
        print("slowest: " + ", ".join("%s %.1fs" % (t.split(".")[-1], d) for d, t in slow), flush=True)
    passed = result.successes + len(result.expectedFailures)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    try:
        import harness  # noqa: E402 - make sure nothing outlives the run
        harness.kill_all_servers()
    except Exception:
        pass
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", dest="patterns", default=[],
                    help="run only e2e tests whose name matches (unittest -k semantics); repeatable")
    ap.add_argument("--e2e-only", action="store_true", help="skip the unit tests")
    args = ap.parse_args()
    t0 = time.monotonic()
    totals = [0, 0, 0]
    if not args.e2e_only:
        for i, n in enumerate(run_unit()):
            totals[i] += n
    for i, n in enumerate(run_e2e(args.patterns)):
        totals[i] += n
    print("(took %.1fs)" % (time.monotonic() - t0), flush=True)
    print("%d passed, %d failed, %d skipped" % tuple(totals), flush=True)
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
