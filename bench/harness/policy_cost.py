"""Workload 12: what the access policy costs. ferryd alone, the small-files loop of workload 5 with
the bench account under no rules, then under 20 path rules (/ = all and 19 deeper paths the loop
never touches, so each request scans all of them and is still allowed), in alternating rounds:
medians of files per second, the ratio of the two. Rules are read at login, and each round's clients
log in anew, so no restart is needed between rounds."""
import statistics
import subprocess

from . import setup
from .loadgen import LoadgenError
from .workloads import small_files_round

NAME = "policy"
RULES = 20


def _set_rules(ctx, server, count):
    config = f"{server.dir}/ferryd.toml"
    base = [ctx.ferryd, "--config", config, "user", "perm", setup.USER]
    for i in range(RULES):  # clear all first, so that `count` = 0 leaves none
        path = "/" if i == 0 else f"/policy-bench/r{i:02d}"
        subprocess.run(base + [path, "--clear"], check=True, capture_output=True, timeout=60)
    for i in range(count):
        path = "/" if i == 0 else f"/policy-bench/r{i:02d}"
        subprocess.run(base + [path, "all"], check=True, capture_output=True, timeout=60)


def _round(ctx, server):
    return float(small_files_round(ctx, server)["files_per_s"])


def run(ctx, servers, results):
    wl = f"12 policy cost (small files, {ctx.small_clients} clients)"
    server = next((s for s in servers if s.name == "ferryd"), None)
    if server is None or getattr(server, "problem", None):
        return
    rounds = max(3, ctx.runs)
    seen = {0: [], RULES: []}
    try:
        for i in range(rounds):
            for count in ((0, RULES) if i % 2 == 0 else (RULES, 0)):
                _set_rules(ctx, server, count)
                seen[count].append(_round(ctx, server))
                setup.log(f"{NAME}: round {i + 1}, {count} rules: {seen[count][-1]:.0f} files/s")
    except (LoadgenError, subprocess.CalledProcessError) as e:
        results.fail(wl, "files per second, no rules", "1/s", server.name, str(e))
        return
    finally:
        _set_rules(ctx, server, 0)
    none, twenty = statistics.median(seen[0]), statistics.median(seen[RULES])
    results.put(wl, "files per second, no rules", "1/s", server.name, none)
    results.put(wl, f"files per second, {RULES} rules", "1/s", server.name, twenty)
    results.put(wl, f"{RULES} rules / no rules", "ratio", server.name, twenty / none if none else None)
