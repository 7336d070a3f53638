"""The workloads, each run against every server through the load generator, with the
server-side sampling (/proc) done between the loadgen's stages."""
import ftplib
import os
import statistics
import subprocess
import threading
import time

from . import procs, setup
from . import servers as servers_mod
from .loadgen import LoadgenError, LoadgenRun

MIB = 1 << 20


def _target_args(ctx, server):
    return ["--port", server.port, "--user", setup.USER, "--password", ctx.password]


def settle(server, timeout=30):
    """Waits until the server is back to its listener processes (sessions of the last run gone)
    and quiet (no digest of the last upload still being computed), and the last run's dirty pages
    are on disk, so that no run pays for the one before it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.alive():
        if len(procs.process_tree(server.proc.pid)) <= server.base_procs:
            break
        time.sleep(0.05)
    while time.monotonic() < deadline and server.alive():
        before = procs.tree_cpu_seconds(server.proc.pid)
        time.sleep(0.2)
        if procs.tree_cpu_seconds(server.proc.pid) - before < 0.02:
            break
    os.sync()


def ensure_running(ctx, server, results):
    """Restarts a server that died in an earlier workload; False when it cannot run."""
    if server.problem:
        return False
    if server.alive():
        return True
    results.server_notes.setdefault(server.name, "")
    results.server_notes[server.name] += f" died (exit {server.proc.returncode if server.proc else '?'}), restarted;"
    try:
        ctx.start_server(server)
        return True
    except Exception as e:  # noqa: BLE001 - report, keep benchmarking the others
        server.problem = f"restart failed: {e}"
        return False


# ---- workloads 1-3: large download, large upload, sendfile ceiling ----

def _one_transfer(ctx, server, kind, extra, settle_timeout=30, ready_timeout=60, done_timeout=None,
                  finish_timeout=10):
    """Returns (MB/s, server CPU seconds, loadgen result) of one transfer; CPU sampled right around
    it (the loadgen pauses once logged in and once done). done_timeout: ctx.transfer_timeout."""
    settle(server, settle_timeout)
    run = LoadgenRun(ctx.loadgen, kind, _target_args(ctx, server) + ["--pause"] + extra)
    try:
        run.next_result(ready_timeout)  # logged in, TYPE I done
        cpu_before = procs.tree_cpu_seconds(server.proc.pid)
        run.send("go")
        done = run.next_result(done_timeout or ctx.transfer_timeout)
        cpu_after = procs.tree_cpu_seconds(server.proc.pid)
        run.send("quit")
        return float(done["mb_per_s"]), cpu_after - cpu_before, done
    finally:
        run.finish(finish_timeout)


def _ceiling_run(ctx, chunk, recv):
    run = LoadgenRun(ctx.loadgen, "ceiling", ["--file", ctx.big_path, "--chunk", chunk, "--recv", recv, "--runs", 1])
    try:
        r = run.next_result(ctx.transfer_timeout)
        return float(r["mb_per_s"]), float(r["sender_cpu_s"])
    finally:
        run.finish(10)


def _rotate(items, by):
    by %= max(len(items), 1)
    return items[by:] + items[:by]


def bulk_transfers(ctx, servers, results):
    """Rounds alternate the order of servers, and the ceiling runs are interleaved with them, so
    drift in loopback throughput spreads over everyone; medians over rounds are reported."""
    size_label = f"{ctx.size // MIB} MiB" if ctx.size < (1 << 30) else f"{ctx.size / (1 << 30):g} GiB"
    down, up = {s.name: [] for s in servers}, {s.name: [] for s in servers}
    tls_down = {suite: {s.name: [] for s in servers} for suite in ctx.tls_suites}
    up_small = {s.name: [] for s in servers}
    errors = {}
    ferryd_log = _log_size(servers)
    ceiling = {setting: [] for setting in ctx.ceiling_settings}
    if "download" in ctx.workloads or "tls-download" in ctx.workloads:
        for rnd in range(ctx.runs):
            if "download" in ctx.workloads:
                for server in _rotate([s for s in servers if servers_mod.takes_part(s, "download")], rnd):
                    _measure(ctx, server, results, "download", ["--file", ctx.big_name, "--recv", MIB], down, errors)
            if "tls-download" in ctx.workloads:  # the same file over FTPS, in the same round
                for suite in ctx.tls_suites:
                    ciphers = ["--ciphersuites", suite] if suite else []
                    for server in _rotate(servers, rnd):
                        _measure(ctx, server, results, "tls-download", ["--file", ctx.big_name, "--recv", MIB] + ciphers,
                                 tls_down[suite], errors, row=f"tls-download {suite}")
            if "ceiling" in ctx.workloads:
                for chunk, recv in ctx.ceiling_settings:
                    try:
                        ceiling[(chunk, recv)].append(_ceiling_run(ctx, chunk, recv))
                    except LoadgenError as e:
                        errors["ceiling"] = str(e)
    if "upload" in ctx.workloads:
        for rnd in range(ctx.runs):
            for server in _rotate([s for s in servers if servers_mod.takes_part(s, "upload")], rnd):
                name = f"up-{server.name}.bin"
                _measure(ctx, server, results, "upload", ["--file", name, "--size", ctx.size], up, errors)
                _remove_quietly(os.path.join(ctx.home, name))
                # The same from a client that writes 8 KiB at a time (as pyftpdlib's ftpbench does).
                _measure(ctx, server, results, "upload", ["--file", name, "--size", ctx.size, "--send", 8192],
                         up_small, errors, row="upload-small")
                _remove_quietly(os.path.join(ctx.home, name))
    best_ceiling = _report_ceiling(ctx, results, ceiling, errors)
    _report_transfers(results, servers, "1 download " + size_label, down, errors, "download", best_ceiling)
    if "tls-download" in ctx.workloads:
        for suite in ctx.tls_suites:
            label = "1t TLS download " + size_label + (f", {_suite_name(suite)} only" if suite else ", server's pick")
            _report_tls(results, servers, label, tls_down[suite], down, errors, ferryd_log, f"tls-download {suite}")
    _report_transfers(results, servers, "2 upload " + size_label, up, errors, "upload", None)
    if "upload" in ctx.workloads:
        _report_transfers(results, servers, "2s upload " + size_label + ", 8 KiB sends", up_small, errors,
                          "upload-small", None)


def _measure(ctx, server, results, kind, extra, samples, errors, row=None):
    """One loadgen `kind` run; its failure is kept under (server, row or kind) for the report."""
    key = (server.name, row or kind)
    if not ensure_running(ctx, server, results):
        errors[key] = server.problem
        return
    try:
        samples[server.name].append(_one_transfer(ctx, server, kind, extra))
    except LoadgenError as e:
        errors[key] = str(e)


def _log_size(servers):
    """(path, size) of ferryd's log before the transfers, to read only what they add to it."""
    for server in servers:
        if server.name == "ferryd":
            path = os.path.join(server.dir, "ferryd.log")
            try:
                return path, os.path.getsize(path)
            except OSError:
                return path, 0
    return None


def _ferryd_send_paths(ferryd_log):
    """How ferryd sent each TLS download, from its log: {"kTLS sendfile": n, "SSL_write from buffer": k}."""
    counts = {"kTLS sendfile": 0, "SSL_write from buffer": 0}
    if not ferryd_log:
        return counts
    path, start = ferryd_log
    try:
        with open(path, errors="replace") as f:
            f.seek(start)
            for line in f:
                if "tls: send_file" in line:
                    for key in counts:
                        if line.rstrip().endswith("uses " + key):
                            counts[key] += 1
    except OSError:
        pass
    return counts


def _suite_name(suite):
    """TLS_AES_256_GCM_SHA384 -> AES-256-GCM"""
    return suite.replace("TLS_", "").rsplit("_SHA", 1)[0].replace("_", "-")


def _report_tls(results, servers, workload, samples, plain, errors, ferryd_log, kind):
    """Like _report_transfers, plus the share of the plain download and, as notes, the TLS
    protocol/cipher/resumption each server negotiated and the send path ferryd logged."""
    _report_transfers(results, servers, workload, samples, errors, kind, None)
    ktls, why = setup.ktls_available()
    for server in servers:
        runs = samples[server.name]
        if not runs:
            continue
        mbps = statistics.median(r[0] for r in runs)
        if plain[server.name]:
            results.put(workload, "share of plain download", "fraction", server.name,
                        mbps / statistics.median(r[0] for r in plain[server.name]))
        last = runs[-1][2]
        resumed = sorted({r[2].get("resumed", "?") for r in runs})
        note = f"{last.get('protocol', '?')} {last.get('cipher', '?')}, data session resumed: {'/'.join(resumed)}"
        if server.name == "ferryd":
            paths = _ferryd_send_paths(ferryd_log)
            used = ", ".join(f"{k} x{n}" for k, n in paths.items() if n) or "not in its log"
            note += f"; send path (ferryd.log): {used}; kTLS on this kernel: {'yes' if ktls else 'no'} ({why})"
        results.row(workload, "throughput", "MB/s").notes[server.name] = note


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _report_ceiling(ctx, results, ceiling, errors):
    """Returns (best median MB/s, the sendfile thread's CPU seconds at that setting) or None."""
    best = None
    for (chunk, recv), runs in ceiling.items():
        if not runs:
            continue
        median = statistics.median(r[0] for r in runs)
        results.put("3 ceiling", f"sendfile chunk {chunk // 1024}K recv {recv // 1024}K", "MB/s", "kernel", median)
        if best is None or median > best[0]:
            best = (median, statistics.median(r[1] for r in runs))
    if best:
        results.put("3 ceiling", "best median", "MB/s", "kernel", best[0])
        results.put("3 ceiling", "sendfile CPU at the best (the floor)", "s (lower better)", "kernel",
                    round(best[1], 2), "lower")
    elif "ceiling" in errors:
        results.fail("3 ceiling", "best median", "MB/s", "kernel", errors["ceiling"])
    return best


def _report_transfers(results, servers, workload, samples, errors, kind, ceiling):
    for server in servers:
        runs = samples[server.name]
        if not runs:
            if (server.name, kind) in errors or server.problem:
                note = errors.get((server.name, kind)) or server.problem
                results.fail(workload, "throughput", "MB/s", server.name, note)
                results.fail(workload, "server CPU", "s (lower better)", server.name, note, "lower")
            continue
        mbps = statistics.median(r[0] for r in runs)
        results.put(workload, "throughput", "MB/s", server.name, mbps)
        results.put(workload, "server CPU", "s (lower better)", server.name,
                    statistics.median(r[1] for r in runs), "lower")
        if ceiling:
            results.put(workload, "share of ceiling", "fraction", server.name, mbps / ceiling[0])
            if ceiling[1] > 0:
                results.put(workload, "server CPU / sendfile floor", "ratio (lower better)", server.name,
                            round(statistics.median(r[1] for r in runs) / ceiling[1], 2), "lower")


# ---- workload 4: idle sessions ----

def idle_sessions(ctx, server, results):
    wl = "4 idle sessions"
    if not ensure_running(ctx, server, results):
        results.fail(wl, f"held of {ctx.idle_steps[0]}", "sessions", server.name, server.problem)
        return
    settle(server, 60)
    pid = server.proc.pid
    base_pss, base_procs = procs.tree_pss_bytes(pid), len(procs.process_tree(pid))
    steps = ctx.idle_steps
    run = LoadgenRun(ctx.loadgen, "idle", _target_args(ctx, server) +
                     ["--steps", ",".join(map(str, steps)), "--step-seconds", ctx.idle_step_seconds])
    try:
        for i, target in enumerate(steps):
            try:
                r = run.next_result(ctx.idle_step_seconds + 60)
            except LoadgenError as e:
                results.fail(wl, f"held of {target}", "sessions", server.name, str(e))
                break
            held = int(r["held"])
            stop_reason = _idle_step_report(ctx, server, results, r, target, base_pss, base_procs)
            if stop_reason is None and i + 1 < len(steps):
                stop_reason = _idle_guard(server, held, base_pss, base_procs, steps[i + 1])
            if stop_reason:
                if i + 1 < len(steps):
                    results.fail(wl, f"held of {steps[i + 1]}", "sessions", server.name, f"not tried: {stop_reason}")
                break
            run.send("next")
        run.send("stop")
    finally:
        run.finish(120)
    settle(server, 120)


def _idle_step_report(ctx, server, results, r, target, base_pss, base_procs):
    """Records one step; returns why the ramp should stop, or None."""
    wl = "4 idle sessions"
    held = int(r["held"])
    if not server.alive():
        results.fail(wl, f"held of {target}", "sessions", server.name, "server died during the ramp")
        return "server died"
    pss = procs.tree_pss_bytes(server.proc.pid)
    note = None
    if int(r["tried"]) < target:
        note = f"time bound: {r['tried']} logins tried in {float(r['login_seconds']):.0f}s"
    elif held < target:
        note = (f"{r['failed']} logins failed, {r['lost']} lost; first: {r['first_failure'].replace('_', ' ')}")
    results.put(wl, f"held of {target}", "sessions", server.name, held, note=note)
    results.put(wl, f"login ramp to {target}", "s (lower better)", server.name, float(r["login_seconds"]), "lower")
    results.put(wl, f"PSS total @{target}", "MiB (lower better)", server.name, pss / MIB, "lower")
    if held:
        results.put(wl, f"PSS per session @{target}", "KiB (lower better)", server.name,
                    (pss - base_pss) / held / 1024, "lower")
    if held < 0.9 * target:
        return f"held only {held} of {target}"
    return None


def _idle_guard(server, held, base_pss, base_procs, next_target):
    """Stops before a step that would exhaust memory or PIDs (forking servers: 1-2 per session)."""
    pid = server.proc.pid
    per_session = (procs.tree_pss_bytes(pid) - base_pss) / max(held, 1)
    need = per_session * (next_target - held) * 1.5
    if procs.mem_available_bytes() - need < (2 << 30):
        return f"memory guard (would need ~{need / (1 << 30):.1f} GiB more)"
    procs_per_session = (len(procs.process_tree(pid)) - base_procs) / max(held, 1)
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    running = sum(1 for n in os.listdir("/proc") if n.isdigit())
    if running + procs_per_session * (next_target - held) > 0.9 * pid_max:
        return f"PID guard ({procs_per_session:.1f} processes per session, pid_max {pid_max})"
    return None


# ---- workload 5: small files ----

def small_files_round(ctx, server):
    """One run of the small-files loop on a settled server: the loadgen's result line."""
    settle(server, 60)
    run = LoadgenRun(ctx.loadgen, "smallfiles", _target_args(ctx, server) +
                     ["--clients", ctx.small_clients, "--seconds", ctx.seconds, "--files", setup.SMALL_FILES,
                      "--file-size", setup.SMALL_FILE_SIZE])
    try:
        return run.next_result(ctx.seconds + 120)
    finally:
        run.finish(30)


def small_files(ctx, server, results):
    wl = f"5 small files ({ctx.small_clients} clients)"
    if not ensure_running(ctx, server, results):
        results.fail(wl, "files per second", "1/s", server.name, server.problem)
        return
    try:
        r = small_files_round(ctx, server)
    except LoadgenError as e:
        results.fail(wl, "files per second", "1/s", server.name, str(e))
        return
    note = None
    if int(r["errors"]) or int(r["login_failed"]) or int(r["lost"]):
        note = (f"{r['clients']} clients logged in, {r['login_failed']} failed, {r['errors']} errors, "
                f"{r['lost']} lost; first: {r['first_error'].replace('_', ' ')}")
    results.put(wl, "files per second", "1/s", server.name, float(r["files_per_s"]), note=note)
    for p in ("p50", "p99"):
        value = float(r[f"{p}_ms"])
        results.put(wl, f"latency {p}", "ms (lower better)", server.name, value if value >= 0 else None, "lower")


# ---- workload 8: many downloads at once ----

# The even-handed client of workload 8: one thread reads all streams in turn, at most this much
# per recv, each data socket with this fixed SO_RCVBUF (the kernel's autotuning off).
EVEN_READ = 256 << 10
EVEN_RCVBUF = 1 << 20


def parallel_downloads(ctx, server, results):
    """ctx.runs rounds, medians reported, each with two clients. A thread per stream (the most
    load: 50 receivers) gives the aggregate and the server's CPU; but which of its streams ends
    first is mostly how the kernel places those threads on two cores shared with the server (in
    the harness's own autogroup, each CPU gives the client's group one share, so threads that
    land on the more crowded CPU read less; with the loadgen in the server's autogroup the same
    build measured 0.91-0.97 against 0.46-0.75) and how fast each socket's receive buffer grew.
    The even-handed client (one thread, EVEN_READ per readable socket per pass, SO_RCVBUF fixed
    at EVEN_RCVBUF) takes both out, so its fairness is what the server gives each stream."""
    wl = f"8 parallel downloads ({ctx.parallel_streams} x {ctx.parallel_size >> 20} MiB)"
    if not ensure_running(ctx, server, results):
        results.fail(wl, "aggregate", "MB/s", server.name, server.problem)
        return
    common = ["--streams", ctx.parallel_streams, "--file", ctx.parallel_name]
    clients = (("threads", common + ["--recv", MIB]),
               ("even", common + ["--client", "events", "--recv", EVEN_READ, "--rcvbuf", EVEN_RCVBUF]))
    runs, failed = {"threads": [], "even": []}, []
    for _ in range(ctx.runs):
        for name, args in clients:
            try:  # "ready" once every session has logged in
                _, cpu, r = _one_transfer(ctx, server, "parallel", args, settle_timeout=60, ready_timeout=120,
                                          done_timeout=ctx.transfer_timeout + 60, finish_timeout=30)
            except LoadgenError as e:
                results.fail(wl, "aggregate", "MB/s", server.name, str(e))
                return
            if int(r["failed"]):
                failed.append(f"{r['failed']} of {r['streams']} streams failed; first: {r['first_error'].replace('_', ' ')}")
            runs[name].append((float(r["mb_per_s"]), cpu, float(r["fairness"])))

    def spread(series):
        fair = [f for _, _, f in series]
        return f"{len(series)} rounds: {min(fair):.2f}-{max(fair):.2f}" if len(series) > 1 else None

    median = statistics.median
    threads, even = runs["threads"], runs["even"]
    note = "; ".join(failed) if failed else None
    results.put(wl, "aggregate", "MB/s", server.name, round(median(m for m, _, _ in threads)), note=note)
    results.put(wl, "server CPU", "s (lower better)", server.name, round(median(c for _, c, _ in threads), 2), "lower")
    results.put(wl, "fairness (slowest / fastest stream), a client thread each", "ratio", server.name,
                round(median(f for _, _, f in threads), 2), note=spread(threads))
    results.put(wl, "fairness, one even-handed client", "ratio", server.name,
                round(median(f for _, _, f in even), 3), note=spread(even))
    results.put(wl, "aggregate, one even-handed client", "MB/s", server.name, round(median(m for m, _, _ in even)))


# ---- workload 6: login storm ----

def login_storm(ctx, server, results):
    wl = f"6 login storm ({ctx.storm_connections} conns)"
    if not ensure_running(ctx, server, results):
        results.fail(wl, "NOOP p99", "ms (lower better)", server.name, server.problem, "lower")
        return
    try:
        r = _storm_run(ctx, server)
    except LoadgenError as e:
        results.fail(wl, "NOOP p99", "ms (lower better)", server.name, str(e), "lower")
        return
    note = None
    if int(r["login_failures"]) or int(r["probe_lost"]):
        note = (f"{r['login_failures']} failed logins, probe lost: {r['probe_lost']}; "
                f"first: {r['first_failure'].replace('_', ' ')}")
    results.put(wl, "NOOP p50", "ms (lower better)", server.name, float(r["noop_p50_ms"]), "lower")
    results.put(wl, "NOOP p99", "ms (lower better)", server.name, float(r["noop_p99_ms"]), "lower", note)
    results.put(wl, "NOOP p99 when quiet", "ms (lower better)", server.name, float(r["base_p99_ms"]), "lower")
    results.put(wl, "logins per second", "1/s", server.name, float(r["logins_per_s"]))
    if server.name in ("ferryd", "ferryd-pg"):  # the storm's logins return with one password: also without the cache
        try:
            _restart_with(ctx, server, ["auth_cache_ttl = 0"])
            first = _storm_run(ctx, server)
            results.put(wl, "logins per second, auth_cache_ttl = 0", "1/s", server.name,
                        float(first["logins_per_s"]))
        except LoadgenError as e:
            results.fail(wl, "logins per second, auth_cache_ttl = 0", "1/s", server.name, str(e))
        finally:
            _restart_with(ctx, server, [])


def _storm_run(ctx, server):
    settle(server, 60)
    run = LoadgenRun(ctx.loadgen, "storm", _target_args(ctx, server) +
                     ["--connections", ctx.storm_connections, "--seconds", ctx.seconds, "--baseline", 1])
    try:
        return run.next_result(ctx.seconds + 60)
    finally:
        run.finish(30)


# ---- workload 7: verified transfers and HASH (ferryd only: the peers have no HASH) ----

def _timed(cmd, env=None):
    # The dirty pages of the previous run would otherwise be written back during this one: on this
    # kind of virtual disk a 2 GiB write took 0.7 s after a sync and 4.8 s right after another.
    os.sync()
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise LoadgenError(f"{cmd[0]} failed: {done.stderr.strip()[-300:] or done.stdout.strip()[-300:]}")
    return time.monotonic() - t0


def _restart_with(ctx, server, extra_config):
    """Restarts ferryd with these config lines added (none: as the bench configures it)."""
    server.stop()
    server.extra_config = extra_config
    ctx.start_server(server)
    settle(server)


def _upload_digests_cost(ctx, server, url):
    """curl put of the big file with ferryd's upload digests as configured (the default: MD5 and
    SHA-256 while it streams) against a ferryd restarted with them off; rounds interleaved."""
    on, off = [], []
    try:
        for _ in range(ctx.runs):
            for extra, samples in (([], on), (["upload_digests = []"], off)):
                _restart_with(ctx, server, extra)
                samples.append(ctx.size / _timed(["curl", "-sS", "-T", ctx.big_path, f"{url}/verified-digests.bin"]))
    except Exception as e:  # noqa: BLE001 - a row missing, not the run
        print(f"[bench] upload digests on/off: {e}", flush=True)
        return None
    finally:
        _restart_with(ctx, server, [])
        _remove_quietly(os.path.join(ctx.home, "verified-digests.bin"))
    return statistics.median(on) / statistics.median(off)


def _ftp_login(server, ctx, timeout=30):
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", int(server.port), timeout=timeout)
    ftp.login(setup.USER, ctx.password)
    return ftp


def _login_latencies(server, ctx, count):
    times = []
    for _ in range(count):
        t0 = time.monotonic()
        _ftp_login(server, ctx).quit()
        times.append((time.monotonic() - t0) * 1000)
    return times


def _hash_load(server, ctx, stop, sessions):
    """`sessions` sessions of one user asking for ranged HASHes of the big file (never a kept
    digest) until `stop` is set; a 450 (the per-user cap) is asked again."""
    def one():
        try:
            ftp = _ftp_login(server, ctx, timeout=120)
            while not stop.is_set():
                ftp.sendcmd(f"RANG 0 {ctx.size - 2}")
                try:
                    ftp.sendcmd(f"HASH {ctx.big_name}")
                except ftplib.error_temp:
                    time.sleep(0.05)
            ftp.quit()
        except (OSError, ftplib.Error):
            pass
    threads = [threading.Thread(target=one, daemon=True) for _ in range(sessions)]
    for t in threads:
        t.start()
    return threads


def verified(ctx, server, results):
    """`ferry get`/`put` with their MD5 check next to curl's plain get/put of the same file; the
    HASH of an unchanged file twice; fresh logins while one user runs 20 HASH sessions."""
    wl = f"7 verified ({ctx.size // MIB} MiB)"
    if server.name != "ferryd" or not ensure_running(ctx, server, results):
        return
    url = f"ftp://{setup.USER}:{ctx.password}@127.0.0.1:{server.port}"
    ferry = [os.path.join(os.path.dirname(ctx.ferryd), "ferry"), "-P", str(server.port), "-u", setup.USER,
             "--progress=none", "--overwrite", "-c"]
    env = dict(os.environ, FERRY_PASSWORD=ctx.password)
    local = os.path.join(ctx.work, "verified-get.bin")
    curl_get = ferry_get = curl_put = ferry_put = float("inf")
    try:
        for _ in range(ctx.runs):  # interleaved, so both tools see the same state of the machine
            curl_get = min(curl_get, _timed(["curl", "-sS", "-o", local, f"{url}/{ctx.big_name}"]))
            ferry_get = min(ferry_get, _timed(ferry + [f"get {ctx.big_name} {local}"], env))
            curl_put = min(curl_put, _timed(["curl", "-sS", "-T", ctx.big_path, f"{url}/verified-curl.bin"]))
            ferry_put = min(ferry_put, _timed(ferry + [f"put {ctx.big_path} verified-ferry.bin"], env))
    except LoadgenError as e:
        results.fail(wl, "ferry get (MD5 checked) / curl get", "ratio (lower better)", server.name, str(e), "lower")
        return
    finally:
        _remove_quietly(local)
    results.put(wl, "curl get, wall", "s (lower better)", server.name, round(curl_get, 2), "lower")
    results.put(wl, "ferry get (MD5 checked) / curl get", "ratio (lower better)", server.name,
                round(ferry_get / curl_get, 2), "lower")
    results.put(wl, "curl put, wall", "s (lower better)", server.name, round(curl_put, 2), "lower")
    digests_ratio = _upload_digests_cost(ctx, server, url)
    if digests_ratio is not None:
        results.put(wl, "curl put MB/s, upload digests on / off", "ratio (higher better)", server.name,
                    round(digests_ratio, 2), "higher")
    results.put(wl, "ferry put (MD5 checked) / curl put", "ratio (lower better)", server.name,
                round(ferry_put / curl_put, 2), "lower")
    time.sleep(2.5)  # past the window in which a just-written file's digest is not kept
    ftp = _ftp_login(server, ctx, timeout=300)
    try:
        firsts = []
        for name in ("verified-curl.bin", "verified-curl.bin"):
            t0 = time.monotonic()
            ftp.sendcmd(f"HASH {name}")
            firsts.append((time.monotonic() - t0) * 1000)
    finally:
        ftp.quit()
        _remove_quietly(os.path.join(ctx.home, "verified-curl.bin"))
        _remove_quietly(os.path.join(ctx.home, "verified-ferry.bin"))
    results.put(wl, "HASH of an unchanged file, first", "ms (lower better)", server.name, round(firsts[0], 1), "lower")
    results.put(wl, "HASH of an unchanged file, again", "ms (lower better)", server.name, round(firsts[1], 2), "lower")
    # Every login pays argon2id here (the same password again would skip it: auth_cache_ttl).
    _restart_with(ctx, server, ["auth_cache_ttl = 0"])
    try:
        quiet = _login_latencies(server, ctx, 5)
        stop = threading.Event()
        threads = _hash_load(server, ctx, stop, 20)
        time.sleep(1)
        try:
            loaded = _login_latencies(server, ctx, 20)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
    finally:
        _restart_with(ctx, server, [])
    results.put(wl, "login, quiet, p50", "ms (lower better)", server.name, round(statistics.median(quiet), 1), "lower")
    results.put(wl, "login during 20 HASH sessions, p99", "ms (lower better)", server.name,
                round(sorted(loaded)[-1], 1), "lower")
