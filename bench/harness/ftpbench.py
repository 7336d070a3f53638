"""Workload 9: pyftpdlib's own benchmark script, `ftpbench` (its repository's scripts/ftpbench),
run against every server: a benchmark nobody here wrote. It is not shipped with Ferry (nor with
Debian's python3-pyftpdlib); `bench/run --ftpbench PATH` names a copy of it. Its `-b transfer`
(one second of STOR in 8 KiB sends, then one second of RETR in 8 KiB reads), the same over FTPS
(`-S`, when the servers offer TLS), and `-b concurrence` (N clients: connect and log in, then one
of them transfers while the rest idle, then all RETR and STOR a 10 MiB file at once, then QUIT).
Its lines are parsed as they are printed; nothing of it is changed."""
import re
import subprocess
import sys

from . import setup

# "STOR (client -> server)                              557.97 MB/sec" (a memory figure may follow)
_LINE = re.compile(r"^(?P<what>\S.*?)\s+(?P<value>\d+(?:\.\d+)?)\s+(?P<unit>MB/sec|secs)\b")
WORKLOAD = "9 ftpbench (pyftpdlib's script)"


def parse(output):
    """[(title, value, unit)] from ftpbench's printout."""
    found = []
    for line in output.splitlines():
        m = _LINE.match(line.strip())
        if m:
            found.append((m.group("what"), float(m.group("value")), m.group("unit")))
    return found


def _run(ctx, server, extra, timeout):
    cmd = [sys.executable, ctx.ftpbench, "-H", "127.0.0.1", "-P", str(server.port), "-u", setup.USER,
           "-p", ctx.password, "-t", "60"] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]  # the exception's line
        raise RuntimeError(f"ftpbench {' '.join(extra)} exited {p.returncode}: {last[-300:]}")
    return parse(p.stdout)


def run(ctx, server, results):
    variants = [("", ["-b", "transfer"]), (" over FTPS", ["-b", "transfer", "-S"]),
                ("", ["-b", "concurrence", "-n", str(ctx.ftpbench_clients)])]
    for suffix, extra in variants:
        if "-S" in extra and not ctx.tls_files:
            continue  # the servers offer TLS only when tls-download runs
        try:
            rows = _run(ctx, server, extra, timeout=600)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            results.fail(WORKLOAD, f"{extra[1]}{suffix}", "-", server.name, str(e))
            continue
        for what, value, unit in rows:
            if unit == "MB/sec":
                results.put(WORKLOAD, what + suffix, "MB/s", server.name, value)
            else:
                results.put(WORKLOAD, what + suffix, "s (lower better)", server.name, value, "lower")
