"""Real servers that several-node tests run in front of or behind ferryd (owned by those tests;
bench/ loads it too, so it imports nothing of the e2e harness).

- `free_port(host)`: a TCP port free on `host` now (bound to port 0, then closed).
- `HAProxy(backends)`: Debian's haproxy in TCP mode, in the foreground, from a config in a temp
  folder. `backends` maps a frontend name to (list of "host:port" servers, server options such as
  "send-proxy-v2 source 127.0.0.20"); `port(name)` is the frontend's port on 127.0.0.1. Stopped
  (SIGTERM, then SIGKILL) by `stop()`; use it as a context manager.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TIMEOUT = 20 * float(os.environ.get("E2E_TIMEOUT_SCALE", "1"))  # as harness.TIMEOUT


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(host, port, proc, what, wait=10.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("%s did not listen on %s:%d within %.0f s" % (what, host, port, wait))


class HAProxy:
    def __init__(self, backends):
        self.tmp = tempfile.mkdtemp(prefix="ferry-haproxy-")
        self.ports = {name: free_port() for name in backends}
        lines = ["global", "    maxconn 1000", "defaults", "    mode tcp", "    timeout connect 5s",
                 "    timeout client %ds" % (3 * TIMEOUT), "    timeout server %ds" % (3 * TIMEOUT)]
        for name, (servers, options) in backends.items():
            lines += ["frontend %s" % name, "    bind 127.0.0.1:%d" % self.ports[name],
                      "    default_backend %s_nodes" % name, "backend %s_nodes" % name, "    balance roundrobin"]
            lines += ["    server n%d %s %s" % (i, server, options) for i, server in enumerate(servers)]
        self.config_path = os.path.join(self.tmp, "haproxy.cfg")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(self.tmp, "haproxy.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config_path], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, start_new_session=True)
        try:
            for name, port in self.ports.items():
                wait_for_port("127.0.0.1", port, self.proc, "haproxy")
        except BaseException:
            self.stop()
            raise

    def port(self, name):
        return self.ports[name]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def _pg_bin(name):
    import glob
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    return found[-1] if found else shutil.which(name)


def postgresql_available():
    return _pg_bin("initdb") is not None and _pg_bin("pg_ctl") is not None


class PostgreSQL:
    """Debian's PostgreSQL server in a temp folder: initdb, listening on a Unix socket in that folder
    only (no TCP), trust authentication for the local user. Run as `postgres` when we are root
    (initdb refuses root). `conninfo` is what ferryd's `postgresql` key takes; `psql(sql)` runs a
    statement and returns its output; stop()/start() for the outage tests."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-pg-")
        os.chmod(self.tmp, 0o755)
        self.data = os.path.join(self.tmp, "data")
        self.socket_dir = os.path.join(self.tmp, "socket")
        os.makedirs(self.socket_dir)
        os.chmod(self.socket_dir, 0o777)
        self.port = free_port()
        self.log_path = os.path.join(self.tmp, "postgresql.log")
        self.as_user = []
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.user = "postgres" if self.as_user else os.environ.get("USER", "postgres")
        self._run([_pg_bin("initdb"), "-D", self.data, "-U", self.user, "-A", "trust", "--no-sync", "-E", "UTF8"])
        self.conninfo = "host=%s port=%d dbname=postgres user=%s" % (self.socket_dir, self.port, self.user)
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise

    def _run(self, cmd, timeout=120):
        p = subprocess.run(self.as_user + cmd, capture_output=True, timeout=timeout, cwd=self.tmp)
        if p.returncode != 0:
            raise AssertionError("%s failed (%d): %s %s" % (cmd[0], p.returncode, p.stdout.decode(errors="replace"),
                                                             p.stderr.decode(errors="replace")))
        return p.stdout.decode(errors="replace")

    def start(self):
        opts = "-k %s -p %d -c listen_addresses='' -c fsync=off -c max_connections=200" % (self.socket_dir, self.port)
        self._run([_pg_bin("pg_ctl"), "-D", self.data, "-l", self.log_path, "-o", opts, "-w", "-t", "60", "start"])

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run([_pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"])

    def psql(self, sql):
        cmd = [_pg_bin("psql") or "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo, "-c", sql]
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql %r failed: %s" % (sql, p.stderr.decode(errors="replace")))
        return p.stdout.decode(errors="replace").strip()

    def cleanup(self):
        try:
            self.stop("immediate")
        except Exception:
            pass
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False
