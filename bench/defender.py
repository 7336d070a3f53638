#!/usr/bin/python3
"""The brute-force defender, measured: one address (127.0.0.1) guesses passwords over 50 parallel
connections while another (127.0.0.2) logs in honestly, once with the defender at its defaults and
once with it off (ban_threshold = 0), against the same ferryd build and config otherwise.

  bench/defender.py [--ferryd bin/ferryd] [--seconds 20] [--connections 50]

Reports, per run: password guesses the server checked per second after the ban threshold
(the defender's target: <= 1/s), connections refused at connect, and the honest login's latency
(connect + USER + PASS, p50/p99; target p99 < 300 ms). Bounded in time and count; loopback only.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"


def start_ferryd(ferryd, work, defender_on):
    config = os.path.join(work, "ferryd.toml")
    with open(config, "w") as f:
        f.write('listen = ["127.0.0.1:0"]\nroot = "%s/homes"\nusers_file = "%s/users.toml"\n' % (work, work))
        f.write('bans_file = "%s/bans.toml"\nmax_sessions_per_ip = 200\nlog_file = "%s/ferryd.log"\n' % (work, work))
        # "on" is the shipped default (20 per address, 100 per account in 10 minutes); "off" turns both off.
        f.write("ban_threshold = %d\naccount_lock_threshold = %d\n" % ((20, 100) if defender_on else (0, 0)))
    subprocess.run([ferryd, "--config", config, "user", "add", "honest", "--password-stdin"], input="honest-pw-1\n",
                   text=True, check=True, capture_output=True, cwd=work)
    proc = subprocess.Popen([ferryd, "--config", config], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            text = open(os.path.join(work, "ferryd.log")).read()
            if "listening on 127.0.0.1:" in text:
                return proc, int(text.split("listening on 127.0.0.1:")[1].split()[0])
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("ferryd did not start; see %s/ferryd.log" % work)


class Reader:
    def __init__(self, sock):
        self.file = sock.makefile("rb")

    def reply(self):
        line = self.file.readline()
        code = line[:3]
        while len(line) > 3 and line[3:4] == b"-":  # multi-line reply
            line = self.file.readline()
            if line[:3] == code and line[3:4] == b" ":
                break
        return int(code) if code.isdigit() else 0


def attacker(port, stop, stats, lock):
    while not stop.is_set():
        try:
            s = socket.create_connection((HOST, port), timeout=10, source_address=(HOST, 0))
        except OSError:
            time.sleep(0.05)
            continue
        r = Reader(s)
        try:
            if r.reply() != 220:
                with lock:
                    stats["refused"] += 1
                time.sleep(0.02)  # a refused connection costs nothing; do not spin the loopback
                continue
            while not stop.is_set():
                s.sendall(b"USER honest\r\n")
                if r.reply() != 331:
                    break
                s.sendall(b"PASS wrong-guess\r\n")
                code = r.reply()
                if code != 530:  # 421: banned, the guess was not checked
                    break
                with lock:
                    stats["checked"].append(time.monotonic())
        except OSError:
            pass
        finally:
            s.close()


def honest_login(port):
    started = time.monotonic()
    s = socket.create_connection((HOST, port), timeout=30, source_address=("127.0.0.2", 0))
    r = Reader(s)
    ok = r.reply() == 220
    s.sendall(b"USER honest\r\n")
    ok = ok and r.reply() == 331
    s.sendall(b"PASS honest-pw-1\r\n")
    ok = ok and r.reply() == 230
    elapsed = time.monotonic() - started
    s.sendall(b"QUIT\r\n")
    s.close()
    return elapsed if ok else None


def one_run(args, defender_on):
    work = tempfile.mkdtemp(prefix="ferry-bench-defender-")
    proc, port = start_ferryd(args.ferryd, work, defender_on)
    stop, lock = threading.Event(), threading.Lock()
    stats = {"refused": 0, "checked": []}
    threads = [threading.Thread(target=attacker, args=(port, stop, stats, lock), daemon=True)
               for _ in range(args.connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    logins, failed = [], 0
    time.sleep(2)  # past the threshold before the first honest login
    while time.monotonic() - started < args.seconds:
        elapsed = honest_login(port)
        if elapsed is None:
            failed += 1
        else:
            logins.append(elapsed)
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(15)
    proc.terminate()
    proc.wait(15)
    log = open(os.path.join(work, "ferryd.log")).read()
    shutil.rmtree(work, ignore_errors=True)
    banned_at = None
    for line in log.splitlines():
        if "defender: banned 127.0.0.1" in line:
            banned_at = line
            break
    # Checked guesses are what the server logged as failed logins (each cost one argon2id);
    # "after the threshold" = from 2 s on (20 guesses take about 2 s on two pool threads).
    checked = [line for line in log.splitlines() if "defender: failed login from 127.0.0.1 " in line]
    if not defender_on:  # the defender's log lines are off with it: count what the client saw
        checked = stats["checked"]
    late = [t for t in stats["checked"] if t - started >= 2]
    rate = len(late) / max(0.001, args.seconds - 2)
    logins.sort()
    p99 = logins[min(len(logins) - 1, int(len(logins) * 0.99))] if logins else float("nan")
    return {"defender": "on" if defender_on else "off", "guesses": len(checked), "late_rate": rate,
            "refused": stats["refused"], "p50": statistics.median(logins) if logins else float("nan"), "p99": p99,
            "logins": len(logins), "failed": failed, "banned": bool(banned_at)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ferryd", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                    "bin", "ferryd"))
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--connections", type=int, default=50)
    args = p.parse_args()
    rows = [one_run(args, True), one_run(args, False)]
    print("%-9s %14s %18s %16s %13s %13s %8s" % ("defender", "guesses total", "guesses/s after 2s",
                                                 "refused at conn", "honest p50", "honest p99", "banned"))
    for r in rows:
        print("%-9s %14d %18.2f %16d %10.0f ms %10.0f ms %8s" % (r["defender"], r["guesses"], r["late_rate"],
                                                                 r["refused"], r["p50"] * 1000, r["p99"] * 1000,
                                                                 "yes" if r["banned"] else "no"))
    print("(%d connections from 127.0.0.1 for %d s; honest logins from 127.0.0.2 every 0.2 s: %d and %d made)"
          % (args.connections, args.seconds, rows[0]["logins"], rows[1]["logins"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
