"""Workload 9: pyftpdlib's own benchmark script, `ftpbench` (its repository's scripts/ftpbench),
run against every server: a benchmark nobody here wrote. It is not shipped with Ferry (nor with
Debian's python3-pyftpdlib); `bench/run --ftpbench PATH` names a copy of it. Its `-b transfer`
(one second of STOR in 8 KiB sends, then one second of RETR in 8 KiB reads), the same over FTPS
(`-S`, when the servers offer TLS), and `-b concurrence` (N clients: connect and log in, then one
of them transfers while the rest idle, then all RETR and STOR a 10 MiB file at once, then QUIT).
Its lines are parsed as they are printed; nothing of it is changed.

`-b transfer` runs `--ftpbench-rounds` rounds (7), the servers in a rotating order, and each figure
is the median:
one second of STOR measures this machine's memory as much as the server (a guest page the host
took back is slow to touch again: a 1 GB `dd` into fresh page cache here took 1.5 s, the same
again right after 0.44-0.49 s), and the server whose STOR comes after another's truncated file
pays for it. `-b concurrence` runs once per server."""
import re
import statistics
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


def _put(results, server, rows, suffix):
    for what, value, unit in rows:
        if unit == "MB/sec":
            results.put(WORKLOAD, what + suffix, "MB/s", server.name, value)
        else:
            results.put(WORKLOAD, what + suffix, "s (lower better)", server.name, value, "lower")


def _rotate(items, by):
    by %= max(len(items), 1)
    return items[by:] + items[:by]


def _transfer_rounds(ctx, servers, results, suffix, extra):
    """`extra` in ctx.ftpbench_rounds rounds over all servers, each round starting one server later;
    the median of each figure, the spread of STOR in the notes."""
    seen = {server.name: {} for server in servers}
    for rnd in range(ctx.ftpbench_rounds):
        for server in _rotate(servers, rnd):
            setup.log(f"ftpbench {' '.join(extra)}: {server.name}, round {rnd + 1}")
            try:
                rows = _run(ctx, server, extra, timeout=600)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                results.fail(WORKLOAD, f"{extra[1]}{suffix}", "-", server.name, str(e))
                continue
            for what, value, unit in rows:
                seen[server.name].setdefault((what, unit), []).append(value)
    for server in servers:
        rows = [(what, statistics.median(values), unit) for (what, unit), values in seen[server.name].items()]
        _put(results, server, rows, suffix)
        for (what, unit), values in seen[server.name].items():
            if len(values) > 1 and what.startswith("STOR"):
                row = results.row(WORKLOAD, what + suffix, "MB/s")
                row.notes[server.name] = f"median of {'/'.join(f'{v:.0f}' for v in values)}"


def run_all(ctx, servers, results):
    """Workload 9 against every server: the transfer rounds, then -b concurrence once each."""
    variants = [("", ["-b", "transfer"])]
    if ctx.tls_files:  # the servers offer TLS only when tls-download runs
        variants.append((" over FTPS", ["-b", "transfer", "-S"]))
    for suffix, extra in variants:
        _transfer_rounds(ctx, servers, results, suffix, extra)
    extra = ["-b", "concurrence", "-n", str(ctx.ftpbench_clients)]
    for server in servers:
        setup.log(f"ftpbench {' '.join(extra)}: {server.name}")
        try:
            _put(results, server, _run(ctx, server, extra, timeout=600), "")
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            results.fail(WORKLOAD, "concurrence", "-", server.name, str(e))
