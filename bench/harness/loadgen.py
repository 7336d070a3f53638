"""Running the C++ load generator (build/bench/ferry-loadgen) and reading its RESULT lines."""
import os
import select
import signal
import subprocess
import time

from . import procs


class LoadgenError(Exception):
    pass


class LoadgenRun:
    """One loadgen process. Its stdout carries "RESULT k=v ..." lines; some workloads wait for a
    line on stdin between stages, which lets the harness sample the server in between."""

    def __init__(self, binary, workload, args):
        self.proc = subprocess.Popen([binary, workload, *map(str, args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, preexec_fn=procs.die_with_parent)
        self._buffer = b""

    def next_result(self, timeout):
        """The next RESULT as a dict; raises LoadgenError on timeout, exit or an error result."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._take_line()
            if line is not None:
                if not line.startswith("RESULT"):
                    continue
                result = dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
                if "error" in result:
                    raise LoadgenError(result["error"].replace("_", " "))
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise LoadgenError(f"no result within {timeout:.0f}s")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    self.proc.wait()
                    err = self.proc.stderr.read().decode(errors="replace").strip()
                    raise LoadgenError(f"loadgen exited ({self.proc.returncode}) {err[:200]}")
                self._buffer += chunk

    def _take_line(self):
        if b"\n" not in self._buffer:
            return None
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def finish(self, timeout=30):
        """Closes stdin (the loadgen's cue to stop) and waits; kills it past the timeout."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
