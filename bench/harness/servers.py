"""The servers under test: how to configure, start, wait for and stop each one.

Every server runs as a foreground child of the harness in its own process group, on its own
loopback port and passive range, with the same user, home and limits lifted (no per-IP or total
client caps, no throttling, no transfer log, no reverse DNS, no login delays)."""
import atexit
import os
import re
import signal
import socket
import subprocess
import time

from . import procs, setup

HOST = "127.0.0.1"
SERVER_NAMES = ["ferryd", "vsftpd", "pure-ftpd", "proftpd", "pyftpdlib"]


class ServerError(Exception):
    pass


class Server:
    def __init__(self, name, index, ctx):
        self.name = name
        self.ctx = ctx
        self.port = ctx.base_port + 1 + index
        # One shared passive range below the kernel's ephemeral ports (32768+); only one server is
        # under load at a time. It is wide because pure-ftpd caps its clients at half its range.
        self.pasv = ctx.pasv_range
        self.dir = os.path.join(ctx.work, "srv", name)
        self.proc = None
        self.log_path = os.path.join(self.dir, "stdout.log")
        self.problem = None  # why the server is n/a, when it is

    # --- to be provided per server ---
    def configure(self):
        """Writes the private config; returns the command line."""
        raise NotImplementedError

    # --- lifecycle ---
    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        cmd = self.configure()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     cwd=self.dir, start_new_session=True,
                                     preexec_fn=procs.die_with_parent)
        log.close()
        self._wait_for_greeting()

    def _wait_for_greeting(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"exited with {self.proc.returncode} at start; see {self.log_path}: "
                                  + self.tail_log())
            try:
                with socket.create_connection((HOST, self.port), timeout=2) as s:
                    if s.recv(512).startswith(b"220"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise ServerError(f"no 220 greeting on port {self.port} within {timeout}s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM to the whole process group (sessions included), SIGKILL after 5 s."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                # The leader is gone; sweep session processes that outlived it in the group.
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
            break
        self.proc = None

    def tail_log(self, lines=3):
        try:
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-lines:])
        except OSError:
            return ""

    def tls_files(self):
        """(cert, key, combined) when this run measures FTPS, else None. Then every server offers
        AUTH TLS next to plain FTP (TLS optional), with the same self-signed certificate."""
        return getattr(self.ctx, "tls_files", None)

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path


class Ferryd(Server):
    extra_config = []  # lines a workload adds for a run of its own (restart to apply)

    def configure(self):
        ferryd = self.ctx.ferryd
        if not (ferryd and os.access(ferryd, os.X_OK)):
            raise ServerError(f"no ferryd binary at {ferryd} (build it with `make`)")
        users = os.path.join(self.dir, "users.toml")
        if os.path.exists(users):
            os.unlink(users)  # recreated each run: idempotent and always the current password
        config = self.write("ferryd.toml", "\n".join([
            f'listen = ["{HOST}:{self.port}"]',
            f'root = "{self.ctx.homes}"',
            f'users_file = "{users}"',
            *self.accounts_lines(),
            "max_sessions = 20000",
            "max_sessions_per_ip = 20000",
            "max_sessions_unauthenticated = 20000",  # session ramps connect thousands at once
            "idle_timeout = 600",
            *self.extra_config,
            f"passive_ports = [{self.pasv[0]}, {self.pasv[1]}]",
            f'log_file = "{os.path.join(self.dir, "ferryd.log")}"',
            'default_quota = "unlimited"',
            *(['tls = "optional"', f'tls_cert = "{tls[0]}"', f'tls_key = "{tls[1]}"']
              if (tls := self.tls_files()) else []),
            ""]))
        # The account is made anew each run, over the same home and files: adopt them on purpose.
        add = subprocess.run([ferryd, "--config", config, "user", "add", setup.USER, "--password-stdin",
                              "--quota", "unlimited", "--home", setup.USER, "--adopt"], input=self.ctx.password + "\n", text=True,
                             capture_output=True, cwd=self.dir, timeout=60)
        if add.returncode != 0:
            raise ServerError("`ferryd user add` failed: " + (add.stderr or add.stdout).strip()[:200])
        if self.ctx.cheap_logins:
            self._cheapen_hash(users)
        return [ferryd, "--config", config]

    def accounts_lines(self):
        return []  # the accounts file

    def _cheapen_hash(self, users):
        """Swaps the interactive-strength argon2id (~190 ms here) for a ~3 ms one, like the peers'
        SHA-512 crypt in the same phase, so session ramps measure sessions, not hashing."""
        with open(users) as f:
            text = f.read()
        cheap = setup.cheap_argon2id(self.ctx.password)
        new_text, count = re.subn(r"\$argon2id\$[^\"']+", lambda _: cheap, text)
        if count != 1:
            raise ServerError(f"could not find the argon2id hash in {users}")
        with open(users, "w") as f:
            f.write(new_text)


class Vsftpd(Server):
    def configure(self):
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        os.chmod(empty, 0o755)
        config = self.write("vsftpd.conf", "\n".join([
            "listen=YES", "listen_ipv6=NO", f"listen_address={HOST}", f"listen_port={self.port}",
            "background=NO", "seccomp_sandbox=NO", f"secure_chroot_dir={empty}",
            "anonymous_enable=NO", "local_enable=YES", "write_enable=YES", "local_umask=022",
            "chroot_local_user=YES", "allow_writeable_chroot=YES",
            # No such PAM service file: PAM falls back to /etc/pam.d/other (pam_unix), so nothing
            # under /etc needs to be written for the benchmark.
            "pam_service_name=ferrybench-vsftpd", "session_support=NO", "userlist_enable=NO",
            "tcp_wrappers=NO", "max_per_ip=0", "max_clients=0", "delay_failed_login=0",
            "xferlog_enable=NO", "syslog_enable=NO", "dual_log_enable=NO", "dirmessage_enable=NO",
            "pasv_enable=YES", f"pasv_min_port={self.pasv[0]}", f"pasv_max_port={self.pasv[1]}",
            "idle_session_timeout=600", "data_connection_timeout=600", "use_sendfile=YES",
            "ftpd_banner=vsftpd ready.", *self._tls_lines(), ""]), 0o600)
        return [os.path.join(self.ctx.work, "peers/vsftpd/usr/sbin/vsftpd"), config]

    def _tls_lines(self):
        tls = self.tls_files()
        if not tls:
            return []
        # Optional like the others; require_ssl_reuse=YES is the default, written out for clarity.
        # vsftpd's own default cipher list is DES-CBC3-SHA: HIGH lets TLS 1.2 pick AES-GCM.
        return ["ssl_enable=YES", f"rsa_cert_file={tls[0]}", f"rsa_private_key_file={tls[1]}",
                "allow_anon_ssl=NO", "force_local_logins_ssl=NO", "force_local_data_ssl=NO",
                "ssl_tlsv1=YES", "ssl_sslv2=NO", "ssl_sslv3=NO", "require_ssl_reuse=YES",
                "ssl_ciphers=HIGH", "debug_ssl=NO"]


class PureFtpd(Server):
    def configure(self):
        user = self.ctx.user_entry
        # puredb line: account:hash:uid:gid:gecos:home/./ then 12 empty per-user limits.
        passwd = self.write("pureftpd.passwd", f"{setup.USER}:{setup.shadow_hash()}:{user.pw_uid}:"
                            f"{user.pw_gid}::{self.ctx.home}/./" + ":" * 12 + "\n", 0o600)
        pdb = os.path.join(self.dir, "pureftpd.pdb")
        pure_pw = os.path.join(self.ctx.work, "peers/pure-ftpd/usr/bin/pure-pw")
        subprocess.run([pure_pw, "mkdb", pdb, "-f", passwd], check=True, capture_output=True)
        return [os.path.join(self.ctx.work, "peers/pure-ftpd/usr/sbin/pure-ftpd"),
                "-S", f"{HOST},{self.port}", "-l", f"puredb:{pdb}", "-E", "-A", "-H",
                # Raise the client caps (default 50) to the largest idle step.
                "-c", "20000", "-C", "20000", "-p", f"{self.pasv[0]}:{self.pasv[1]}", "-I", "600",
                "-f", "none", "-g", os.path.join(self.dir, "pure-ftpd.pid"),
                # -Y 1: TLS optional; -2: a private cert,key instead of /etc/ssl/private/pure-ftpd.pem.
                *(["-Y", "1", "-2", f"{tls[0]},{tls[1]}"] if (tls := self.tls_files()) else [])]


class Proftpd(Server):
    def configure(self):
        user = self.ctx.user_entry
        passwd = self.write("passwd", f"{setup.USER}:{setup.shadow_hash()}:{user.pw_uid}:{user.pw_gid}::"
                            f"{self.ctx.home}:/usr/sbin/nologin\n", 0o600)
        group = self.write("group", f"{setup.USER}:x:{user.pw_gid}:\n", 0o600)
        config = self.write("proftpd.conf", "\n".join([
            'ServerName "bench"', "ServerType standalone", "DefaultServer on",
            f"Port {self.port}", f"DefaultAddress {HOST}", "SocketBindTight on", "UseIPv6 off",
            "User nobody", "Group nogroup", "Umask 022", "AllowOverwrite on",
            f"PidFile {self.dir}/proftpd.pid", f"ScoreboardFile {self.dir}/proftpd.scoreboard",
            "DelayTable none", "UseReverseDNS off",
            "MaxInstances 30000", "MaxClients none", "MaxClientsPerHost none", "MaxClientsPerUser none",
            "MaxConnectionsPerHost none",
            "AuthOrder mod_auth_file.c", f"AuthUserFile {passwd}", f"AuthGroupFile {group}",
            "RequireValidShell off", "DefaultRoot ~", "UseSendfile on",
            f"PassivePorts {self.pasv[0]} {self.pasv[1]}",
            "TimeoutIdle 600", "TimeoutNoTransfer 600", "TimeoutLogin 600",
            "TransferLog none", "WtmpLog off", f"SystemLog {self.dir}/proftpd.log",
            "<IfModule mod_delay.c>", "  DelayEngine off", "</IfModule>",
            "ServerIdent on \"proftpd ready.\"", *self._tls_lines(), ""]))
        return [os.path.join(self.ctx.work, "peers/proftpd-core/usr/sbin/proftpd"), "-n", "-c", config]

    def _tls_lines(self):
        tls = self.tls_files()
        if not tls:
            return []
        modules = os.path.join(self.ctx.work, "peers/proftpd-mod-crypto/usr/lib/proftpd")
        if not os.path.exists(os.path.join(modules, "mod_tls.so")):
            raise ServerError(f"no mod_tls.so under {modules} (Debian package proftpd-mod-crypto)")
        # Data connections must reuse the control session by default (TLSOptions without
        # NoSessionReuseRequired), like vsftpd and ferryd.
        return ["<IfModule mod_dso.c>", f"  ModulePath {modules}", "  LoadModule mod_tls.c", "</IfModule>",
                "<IfModule mod_tls.c>", "  TLSEngine on", "  TLSRequired off", "  TLSProtocol TLSv1.2 TLSv1.3",
                f"  TLSRSACertificateFile {tls[0]}", f"  TLSRSACertificateKeyFile {tls[1]}",
                "  TLSVerifyClient off", "  TLSRenegotiate none", "</IfModule>"]


class Pyftpdlib(Server):
    def configure(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyftpd_server.py")
        # /usr/bin/python3: the interpreter that sees Debian's python3-pyftpdlib.
        tls = self.tls_files()
        return ["/usr/bin/python3", script, HOST, str(self.port), setup.USER, self.ctx.password,
                self.ctx.home, str(self.pasv[0]), str(self.pasv[1]), *(tls[:2] if tls else [])]


class FerrydKtlsOff(Ferryd):
    """ferryd with `ktls = "off"`: OpenSSL seals every record of its data connections, where
    ferryd otherwise has the kernel (kTLS) do it. Beside ferryd in the TLS download only, to show
    what that hand-over is worth in the same run (the same as ferryd where the kernel has no kTLS)."""
    only_workloads = {"tls-download"}

    def configure(self):
        cmd = super().configure()
        with open(cmd[-1], "a") as f:
            f.write('ktls = "off"\n')
        return cmd


class FerrydPostgres(Ferryd):
    """ferryd with its accounts and quota usage in PostgreSQL (accounts = "postgresql", as several
    nodes run), beside ferryd with the accounts file: logins and small files, where the store is
    asked. The database is Debian's PostgreSQL in a temp folder on a Unix socket, started here."""
    only_workloads = {"storm", "smallfiles"}
    pg = None

    def accounts_lines(self):
        if FerrydPostgres.pg is None:  # one database for the run, across restarts; gone at exit
            FerrydPostgres.pg = _load_cluster().PostgreSQL()
            atexit.register(FerrydPostgres.pg.cleanup)
        # A fresh account each run, as with the file: the old row goes first.
        FerrydPostgres.pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        return ['accounts = "postgresql"', f'postgresql = "{FerrydPostgres.pg.conninfo}"', 'node_name = "bench"']

    def _cheapen_hash(self, users):
        cheap = setup.cheap_argon2id(self.ctx.password)
        FerrydPostgres.pg.psql(f"UPDATE ferry_accounts SET password_hash = '{cheap}' WHERE name = '{setup.USER}'")

    @staticmethod
    def available():
        return _load_cluster().postgresql_available()


def _load_cluster():
    """tests/e2e/cluster.py (PostgreSQL in a temp folder), loaded by path: bench/harness shares the
    e2e harness's module name."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e", "cluster.py")
    spec = importlib.util.spec_from_file_location("ferry_cluster", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLASSES = {"ferryd": Ferryd, "vsftpd": Vsftpd, "pure-ftpd": PureFtpd, "proftpd": Proftpd,
           "pyftpdlib": Pyftpdlib, "ferryd-ktls-off": FerrydKtlsOff, "ferryd-pg": FerrydPostgres}
OPTIONAL_NAMES = ["ferryd-ktls-off", "ferryd-pg"]  # added by bench/run, not chosen with --servers


def make_servers(names, ctx):
    ports = SERVER_NAMES + OPTIONAL_NAMES
    return [CLASSES[name](name, ports.index(name), ctx) for name in names]


def takes_part(server, workload):
    only = getattr(server, "only_workloads", None)
    return only is None or workload in only
