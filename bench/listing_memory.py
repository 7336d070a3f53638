#!/usr/bin/python3
"""What a big listing costs ferryd in memory: one MLSD of a 100,000-entry folder, then 20 MLSD of it
at once with slow readers (4 KiB reads, a pause every 256 KiB). Reports the server's RSS before,
its peak during (VmHWM, reset after the logins: their argon2id takes 64 MiB for a moment) and its
RSS after, in MiB.

  bench/listing_memory.py [--ferryd bin/ferryd] [--entries 100000] [--readers 20]
"""
import argparse
import ftplib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def vm(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def read_listing(ftp, slow):
    ftp.voidcmd("TYPE A")
    conn = ftp.transfercmd("MLSD many")
    n = 0
    while True:
        b = conn.recv(4096 if slow else 1 << 20)
        if not b:
            break
        n += len(b)
        if slow and n % (256 << 10) < 4096:
            time.sleep(0.01)
    conn.close()
    ftp.voidresp()
    return n


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ferryd", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                    "bin", "ferryd"))
    p.add_argument("--entries", type=int, default=100_000)
    p.add_argument("--readers", type=int, default=20)
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="ferry-bench-listing-")
    try:
        many = os.path.join(work, "homes", "lister", "many")
        os.makedirs(many)
        for i in range(args.entries):
            os.close(os.open(os.path.join(many, "file-%06d-with-a-longish-name.dat" % i), os.O_CREAT | os.O_WRONLY, 0o640))
        config = os.path.join(work, "ferryd.toml")
        with open(config, "w") as f:
            f.write('listen = ["127.0.0.1:0"]\nroot = "%s/homes"\nusers_file = "%s/users.toml"\n'
                    'bans_file = "%s/bans.toml"\nlog_file = "%s/ferryd.log"\n' % (work, work, work, work))
        subprocess.run([args.ferryd, "--config", config, "user", "add", "lister", "--password-stdin", "--home", "lister",
                        "--adopt"], input="lister-pw-1\n", text=True, check=True, capture_output=True, cwd=work)
        proc = subprocess.Popen([args.ferryd, "--config", config], cwd=work, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            port = None
            for _ in range(200):
                text = open(os.path.join(work, "ferryd.log")).read() if os.path.exists(os.path.join(work, "ferryd.log")) else ""
                if "listening on 127.0.0.1:" in text:
                    port = int(text.split("listening on 127.0.0.1:")[1].split()[0])
                    break
                time.sleep(0.05)
            if port is None:
                raise SystemExit("ferryd did not start")
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", port)
            ftp.login("lister", "lister-pw-1")
            reset_peak(proc.pid)
            before = vm(proc.pid, "VmRSS")
            size = read_listing(ftp, False)
            rows = [("1 MLSD, %d entries (%.1f MB of text)" % (args.entries, size / 1e6), before,
                     vm(proc.pid, "VmHWM"), vm(proc.pid, "VmRSS"))]
            clients = []
            for _ in range(args.readers):
                c = ftplib.FTP()
                c.connect("127.0.0.1", port)
                c.login("lister", "lister-pw-1")
                clients.append(c)
            reset_peak(proc.pid)
            before = vm(proc.pid, "VmRSS")
            threads = [threading.Thread(target=read_listing, args=(c, True)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            rows.append(("%d MLSD at once, slow readers" % args.readers, before, vm(proc.pid, "VmHWM"),
                         vm(proc.pid, "VmRSS")))
            print("%-44s %10s %10s %10s" % ("listing", "RSS before", "peak", "RSS after"))
            for name, b, peak, after in rows:
                print("%-44s %7.1f MiB %6.1f MiB %6.1f MiB" % (name, b, peak, after))
        finally:
            proc.terminate()
            proc.wait(15)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
