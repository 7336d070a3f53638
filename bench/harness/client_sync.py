"""Workload 13: keeping a folder in step, ferry against lftp and rclone. ferryd alone serves all
three clients the same tree (1,000 files of 1-3 KiB over ten folders and two of 8 MiB): the time
of the first upload of the tree into an empty folder, then of a sync of the unchanged tree.
ferry `sync up` compares by digest (ferryd's kept digests, one MLSD per folder); lftp's
`mirror -R` and rclone's `sync` compare size and time only over FTP. Rounds alternate the order
of the tools; each figure is the median of ctx.runs rounds."""
import os
import random
import shutil
import statistics
import subprocess

from . import setup
from .loadgen import LoadgenError
from .workloads import _timed, ensure_running

NAME = "sync"
SMALL_FILES = 1000
LARGE = (8 << 20, 8 << 20)


def _make_tree(root):
    if os.path.isdir(root):
        return
    rng = random.Random(13)
    for i in range(SMALL_FILES):
        folder = os.path.join(root, "d%d" % (i % 10))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "f%04d.txt" % i), "wb") as f:
            f.write(rng.randbytes(1024 + (i * 37) % 2048))
    for n, size in enumerate(LARGE):
        with open(os.path.join(root, "large%d.bin" % n), "wb") as f:
            f.write(rng.randbytes(size))


def _commands(ctx, server, tree, dest):
    """Each tool's command for `sync tree into dest` (dest relative to the account's home)."""
    ferry = [os.path.join(os.path.dirname(ctx.ferryd), "ferry"), "-P", str(server.port), "-u", setup.USER,
             "--progress=none", "-c", f"sync up {tree} {dest}"]
    lftp = ["lftp", "-u", f"{setup.USER},{ctx.password}", "-p", str(server.port), "-e",
            f"set ftp:ssl-allow no; mirror -R --no-perms {tree} {dest}; quit", "127.0.0.1"]
    obscured = subprocess.run(["rclone", "obscure", ctx.password], capture_output=True, text=True,
                              check=True).stdout.strip()
    remote = f":ftp,host=127.0.0.1,port={server.port},user={setup.USER},pass={obscured}:{dest}"
    rclone = ["rclone", "sync", "--retries", "1", tree, remote]
    return {"ferry": ferry, "lftp": lftp, "rclone": rclone}


def run(ctx, servers, results):
    wl = f"13 sync a tree ({SMALL_FILES} small files + {len(LARGE)} x {LARGE[0] >> 20} MiB), ferryd serving"
    server = next((s for s in servers if s.name == "ferryd"), None)
    if server is None or not ensure_running(ctx, server, results):
        return
    tools = [t for t in ("ferry", "lftp", "rclone") if t == "ferry" or shutil.which(t)]
    tree = os.path.join(ctx.work, "sync-tree")
    _make_tree(tree)
    env = dict(os.environ, FERRY_PASSWORD=ctx.password, RCLONE_CONFIG=os.devnull)
    first = {t: [] for t in tools}
    again = {t: [] for t in tools}
    try:
        for i in range(max(1, ctx.runs)):
            order = tools[i % len(tools):] + tools[:i % len(tools)]
            for tool in order:
                dest = f"sync-{tool}"
                shutil.rmtree(os.path.join(ctx.home, dest), ignore_errors=True)
                command = _commands(ctx, server, tree, dest)[tool]
                first[tool].append(_timed(command, env))
                again[tool].append(_timed(command, env))
                setup.log(f"{NAME}: round {i + 1}, {tool}: first {first[tool][-1]:.2f} s, again {again[tool][-1]:.3f} s")
    except (LoadgenError, subprocess.CalledProcessError) as e:
        results.fail(wl, "ferry sync up, first upload", "s (lower better)", server.name, str(e), "lower")
        return
    finally:
        for tool in tools:
            shutil.rmtree(os.path.join(ctx.home, f"sync-{tool}"), ignore_errors=True)
    names = {"ferry": "ferry sync up", "lftp": "lftp mirror -R", "rclone": "rclone sync"}
    for tool in tools:
        results.put(wl, f"{names[tool]}, first upload", "s (lower better)", server.name,
                    round(statistics.median(first[tool]), 2), "lower")
        results.put(wl, f"{names[tool]}, again unchanged", "s (lower better)", server.name,
                    round(statistics.median(again[tool]), 3), "lower")
    for tool in tools[1:]:
        results.put(wl, f"ferry / {tool}, again unchanged", "ratio (lower better)", server.name,
                    round(statistics.median(again["ferry"]) / statistics.median(again[tool]), 2), "lower")
