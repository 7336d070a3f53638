"""Workload 10: the homes on slow storage. Shared storage (NFS, CephFS) answers each metadata call
(open, stat, readdir, mkdir, unlink, rename, close) after a round trip. bench/slowfs mounts a FUSE
pass-through over the bench user's home that adds a fixed delay to each of those calls (data reads
and writes pass undelayed; every lookup and stat reaches it: attr/entry timeouts 0, as NFS with
actimeo=0), and every server is restarted on it. Then clients loop CWD, LIST, SIZE, RETR, STOR and
DELE of 64 KiB files, each in a folder of its own, while one idle session sends NOOP every 50 ms:
operations per second, and what the idle user waits. ferryd runs with upload_digests = [] so that
every server does the same work (the peers compute no digests)."""
import ftplib
import io
import os
import shutil
import statistics
import struct
import subprocess
import time

from . import servers as servers_mod, setup
from .loadgen import LoadgenError, LoadgenRun

NAME = "slow-storage"
FILE_SIZE = 64 << 10
MOUNT_OPTIONS = "allow_other,attr_timeout=0,entry_timeout=0,negative_timeout=0,max_threads=128"


def _settings(ctx):
    """(label, delay in ms or None for the plain folder)."""
    return [("plain folder" if d is None else f"FUSE {d} ms", d) for d in ctx.slow_delays]


def _build_slowfs(ctx):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["make", "--no-print-directory", "-s", "-f", "bench/bench.mk", "bench-slowfs"],
                   cwd=os.path.dirname(root), check=True)
    return os.path.join(os.path.dirname(root), "build", "bench", "slowfs")


def _prepare_folders(ctx, clients):
    """mixed/c<i>/f.bin for each client, owned by the bench user, and nothing else there."""
    user = ctx.user_entry
    base = os.path.join(ctx.home, "mixed")
    for i in range(clients):
        folder = os.path.join(base, f"c{i}")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "f.bin")
        if not os.path.exists(path) or os.path.getsize(path) != FILE_SIZE:
            with open(path, "wb") as f:
                f.write(bytes((i + j) & 0xFF for j in range(FILE_SIZE)))
        for name in os.listdir(folder):  # what an interrupted run left
            if name != "f.bin":
                leftover = os.path.join(folder, name)
                shutil.rmtree(leftover) if os.path.isdir(leftover) else os.unlink(leftover)
        for p in (base, folder, path):
            os.chown(p, user.pw_uid, user.pw_gid)


class SlowMount:
    """slowfs mounted over the bench user's home for the `with` block, unmounted after."""

    def __init__(self, binary, home, delay_ms, counters=None):
        self.binary, self.home, self.delay_ms, self.counters = binary, home, delay_ms, counters

    def __enter__(self):
        count = ["--count", self.counters] if self.counters else []
        subprocess.run([self.binary, *count, "--delay-ms", str(self.delay_ms), self.home, "-o", MOUNT_OPTIONS],
                       check=True, capture_output=True, timeout=30)
        return self

    def __exit__(self, *exc):
        for _ in range(50):  # a server's last close may still be in flight
            if subprocess.run(["fusermount3", "-u", self.home], capture_output=True).returncode == 0:
                return False
            time.sleep(0.2)
        subprocess.run(["fusermount3", "-u", "-z", self.home], capture_output=True)
        return False


def _fuse_problem():
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not usable here"
    return None


def _remove_uploads(ctx):
    """Uploads a run left (its clients stopped between STOR and DELE): another server, running as
    another user, might not be allowed to overwrite them."""
    for i in range(ctx.slow_clients):
        try:
            os.unlink(os.path.join(ctx.home, "mixed", f"c{i}", "up.bin"))
        except FileNotFoundError:
            pass


def _one_run(ctx, server, counters):
    _remove_uploads(ctx)
    run = LoadgenRun(ctx.loadgen, "mixed", ["--port", server.port, "--user", setup.USER, "--password", ctx.password,
                                             "--clients", ctx.slow_clients, "--seconds", ctx.slow_seconds,
                                             "--file-size", FILE_SIZE, "--login-seconds", 600])
    try:
        run.next_result(660)  # all logged in: the clock starts
        before = _read_counters(counters) if counters else None
        result = run.next_result(ctx.slow_seconds + 60)
    finally:
        run.finish(60)
    if counters:  # the calls from the start of the clock (the drain included), per operation counted
        after = _read_counters(counters)
        calls = sum(after) - sum(before)
        setup.log(f"{NAME}: {server.name}: " + ", ".join(f"{n} {a - b}" for n, a, b in zip(CALLS, after, before) if a != b))
        result["calls_per_op"] = calls / max(1, int(result["operations"]))
    return result


def _measure_setting(ctx, servers, label, delay, slowfs, rounds_out):
    counters = os.path.join(ctx.work, "slowfs-calls") if delay is not None else None
    mount = SlowMount(slowfs, ctx.home, delay, counters) if delay is not None else None
    if mount:
        mount.__enter__()
    try:
        running = []
        for server in servers:
            server.extra_config = ["upload_digests = []"] if isinstance(server, servers_mod.Ferryd) else []
            try:
                ctx.start_server(server)
                running.append(server)
            except Exception as e:  # noqa: BLE001 - n/a in this setting, the others go on
                rounds_out[server.name] = [{"error": f"did not start: {e}"}]
        for round_index in range(ctx.slow_rounds):
            shift = round_index % max(1, len(running))
            for server in running[shift:] + running[:shift]:  # rotating order: no server always first
                setup.log(f"{NAME}: {label}, round {round_index + 1}, {server.name}")
                try:
                    rounds_out.setdefault(server.name, []).append(_one_run(ctx, server, counters))
                except LoadgenError as e:
                    rounds_out.setdefault(server.name, []).append({"error": str(e)})
    finally:
        for server in servers:
            server.stop()
            server.extra_config = []
        if mount:
            mount.__exit__(None, None, None)


def _report(ctx, results, label, rounds_by_server):
    wl = f"10 slow storage ({ctx.slow_clients} clients)"
    for name, rounds in rounds_by_server.items():
        good = [r for r in rounds if "error" not in r]
        if not good:
            results.fail(wl, f"ops/s, {label}", "1/s", name, rounds[0]["error"])
            continue
        errors = sum(int(r["errors"]) + int(r["lost"]) + int(r["login_failed"]) for r in good)
        note = (f"{errors} failed steps; first: {good[0]['first_error'].replace('_', ' ')}" if errors else None)
        med = lambda key: statistics.median(float(r[key]) for r in good)  # noqa: E731
        results.put(wl, f"ops/s, {label}", "1/s", name, med("ops_per_s"), note=note)
        if "calls_per_op" in good[0]:
            results.put(wl, f"file-system calls per operation, {label}", "1 (lower better)", name,
                        med("calls_per_op"), "lower")
        results.put(wl, f"idle NOOP p50, {label}", "ms (lower better)", name, med("noop_p50_ms"), "lower")
        results.put(wl, f"idle NOOP p99, {label}", "ms (lower better)", name, med("noop_p99_ms"), "lower")
        results.put(wl, f"idle NOOP max, {label}", "ms (lower better)", name, med("noop_max_ms"), "lower")
        results.put(wl, f"all clients logged in (first login after a restart), {label}", "s (lower better)", name,
                    float(good[0]["login_s"]), "lower")
        results.put(wl, f"share of the run the idle client waited, {label}", "% (lower better)", name,
                    100 * med("waited_share"), "lower")


def run(ctx, servers, results):
    """Stops the servers, measures every setting, and starts them again as they were."""
    servers = [s for s in servers if servers_mod.takes_part(s, NAME) and not s.problem]
    problem = _fuse_problem()
    if problem:
        for s in servers:
            results.fail(f"10 slow storage ({ctx.slow_clients} clients)", "ops/s", "1/s", s.name, problem)
        return
    slowfs = _build_slowfs(ctx)
    for server in servers:
        server.stop()
    _prepare_folders(ctx, ctx.slow_clients)
    try:
        for label, delay in _settings(ctx):
            rounds = {}
            try:
                _measure_setting(ctx, servers, label, delay, slowfs, rounds)
            except subprocess.SubprocessError as e:  # the mount: n/a for every server
                rounds = {s.name: [{"error": f"slowfs: {e}"}] for s in servers}
            _report(ctx, results, label, rounds)
    finally:
        for server in servers:
            try:
                ctx.start_server(server)
            except Exception as e:  # noqa: BLE001 - a server that cannot restart is n/a for the rest
                server.problem = str(e)


# ---- workload 11: file-system calls per command ----

# The counters slowfs --count keeps, in the order of its `enum call`.
CALLS = ["getattr", "access", "readlink", "opendir", "readdir", "releasedir", "mkdir", "unlink", "rmdir",
         "symlink", "rename", "link", "chmod", "chown", "truncate", "utimens", "create", "open", "statfs",
         "release", "fsync"]
COUNT_NAME = "calls"
REPEAT = 5


def _read_counters(path):
    time.sleep(0.1)  # the kernel sends a closed file's release after close() has returned
    with open(path, "rb") as f:
        data = f.read(8 * len(CALLS))
    return struct.unpack(f"<{len(CALLS)}Q", data)


def _command_steps():
    """(label, prepare, command): each repetition runs prepare uncounted, then the counted command,
    on a logged-in ftplib session in /mixed/c0."""
    def nothing(ftp):
        pass

    def upload(ftp):
        ftp.storbinary("STOR up.bin", io.BytesIO(b"x" * 4096))

    def remove_upload(ftp):
        try:
            ftp.delete("up.bin")
        except ftplib.error_perm:
            pass

    def remove_folder(ftp):
        try:
            ftp.rmd("d")
        except ftplib.error_perm:
            pass

    def rename_there_and_back(ftp):
        ftp.rename("f.bin", "g.bin")
        ftp.rename("g.bin", "f.bin")

    return [("CWD", nothing, lambda ftp: ftp.cwd("/mixed/c0")),
            ("SIZE", nothing, lambda ftp: ftp.size("f.bin")),
            ("MDTM", nothing, lambda ftp: ftp.voidcmd("MDTM f.bin")),
            ("RETR", nothing, lambda ftp: ftp.retrbinary("RETR f.bin", lambda _: None)),
            ("STOR of a new file", remove_upload, upload),
            ("STOR over a file", upload, upload),
            ("DELE", upload, lambda ftp: ftp.delete("up.bin")),
            ("MKD", remove_folder, lambda ftp: ftp.mkd("d")),
            ("RMD", lambda ftp: remove_folder(ftp) or ftp.mkd("d"), lambda ftp: ftp.rmd("d")),
            ("RNFR+RNTO", nothing, rename_there_and_back),
            ("LIST", lambda ftp: remove_upload(ftp) or remove_folder(ftp), lambda ftp: ftp.retrlines("LIST", lambda _: None))]


def _count_server(ctx, server, counters):
    """Calls per command of one server: the counters read around each of REPEAT runs (2 quick)."""
    repeat = 2 if ctx.quick else REPEAT
    ftp = ftplib.FTP()
    ftp.connect(servers_mod.HOST, server.port, timeout=30)
    ftp.login(setup.USER, ctx.password)
    ftp.voidcmd("TYPE I")
    ftp.cwd("/mixed/c0")
    per_command = {}
    for label, prepare, command in _command_steps():
        total = [0] * len(CALLS)
        for _ in range(repeat):
            prepare(ftp)
            before = _read_counters(counters)
            command(ftp)
            total = [t + a - b for t, a, b in zip(total, _read_counters(counters), before)]
        # RNFR+RNTO renames there and back: one rename's calls.
        runs = repeat * (2 if label == "RNFR+RNTO" else 1)
        per_command[label] = {name: value / runs for name, value in zip(CALLS, total) if value}
    ftp.quit()
    return per_command


def count_calls(ctx, servers, results):
    """Each server on slowfs without delay, counting what its commands ask of the file system."""
    servers = [s for s in servers if servers_mod.takes_part(s, NAME) and not s.problem]
    wl = "11 file-system calls per command"
    problem = _fuse_problem()
    if problem:
        for s in servers:
            results.fail(wl, "calls per CWD", "1 (lower better)", s.name, problem, "lower")
        return
    slowfs = _build_slowfs(ctx)
    for server in servers:
        server.stop()
    counters = os.path.join(ctx.work, "slowfs-calls")
    try:
        for server in servers:
            _prepare_folders(ctx, 1)
            with SlowMount(slowfs, ctx.home, 0, counters):
                server.extra_config = ["upload_digests = []"] if isinstance(server, servers_mod.Ferryd) else []
                try:
                    ctx.start_server(server)
                    per_command = _count_server(ctx, server, counters)
                except Exception as e:  # noqa: BLE001 - a failed server is an n/a column
                    results.fail(wl, "calls per CWD", "1 (lower better)", server.name, str(e)[:200], "lower")
                    continue
                finally:
                    server.stop()
                    server.extra_config = []
            for label, calls in per_command.items():
                detail = ", ".join(f"{n} {v:g}" for n, v in sorted(calls.items()))
                results.put(wl, f"calls per {label}", "1 (lower better)", server.name, sum(calls.values()), "lower")
                setup.log(f"{COUNT_NAME}: {server.name} {label}: {sum(calls.values()):g} ({detail})")
    finally:
        for server in servers:
            try:
                ctx.start_server(server)
            except Exception as e:  # noqa: BLE001
                server.problem = str(e)
