#!/usr/bin/python3
"""A stand-in for ferryd built on pyftpdlib, for debugging the e2e tests' client side only.

Same command line as ferryd:   pyftpd_shim.py --config FILE
                               pyftpd_shim.py --config FILE user add NAME --password-stdin [--quota Q] [--admin]
Reads the same TOML config keys the harness writes. Not used by `make test`.
"""
import os
import signal
import sys
import time
import tomllib


def load_config(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_users(path):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f).get("users", {})
    except FileNotFoundError:
        return {}


def user_add(cfg, args):
    name = args[0]
    pw = sys.stdin.readline().rstrip("\n")
    users = load_users(cfg["users_file"])
    if name in users:
        print("user exists", file=sys.stderr)
        return 1
    users[name] = {"password": pw, "home": name, "admin": "--admin" in args}
    tmp = cfg["users_file"] + ".tmp"
    with open(tmp, "w") as f:
        for n, u in users.items():
            f.write('[users.%s]\npassword = "%s"\nhome = "%s"\nadmin = %s\n\n'
                    % (n, u["password"], u["home"], "true" if u.get("admin") else "false"))
    os.replace(tmp, cfg["users_file"])
    os.makedirs(os.path.join(cfg["root"], name), exist_ok=True)
    return 0


def serve(cfg):
    from pyftpdlib.authorizers import DummyAuthorizer, AuthenticationFailed
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer as FTPServer

    root = cfg["root"]
    users_file = cfg["users_file"]

    class FileAuthorizer(DummyAuthorizer):
        def _users(self):
            return load_users(users_file)

        def validate_authentication(self, username, password, handler):
            u = self._users().get(username)
            if not u or u["password"] != password:
                raise AuthenticationFailed("Authentication failed.")

        def has_user(self, username):
            return username in self._users()

        def get_home_dir(self, username):
            return os.path.join(root, self._users()[username]["home"])

        def has_perm(self, username, perm, path=None):
            return True

        def get_perms(self, username):
            return "elradfmwMT"

        def get_msg_login(self, username):
            return "Login successful."

        def get_msg_quit(self, username):
            return "Goodbye."

    max_line = int(cfg.get("max_line", 4096))
    xferlog = cfg.get("xferlog")

    class Handler(FTPHandler):
        authorizer = FileAuthorizer()
        timeout = int(cfg.get("idle_timeout", 300))
        auth_failed_timeout = cfg.get("login_fail_delay_ms", 1000) / 1000.0
        banner = "pyftpdlib shim ready."
        use_sendfile = False

        def collect_incoming_data(self, data):
            self._in_buffer.append(data)
            self._in_buffer_len += len(data)
            if self._in_buffer_len > max_line:
                self.respond_w_warning("500 Command too long.")
                self._in_buffer = []
                self._in_buffer_len = 0

        def _xfer(self, path, direction, complete):
            if not xferlog:
                return
            try:
                size = os.path.getsize(path)
            except OSError:
                size = 0
            line = "%s 0 %s %d %s b _ %s r %s ftp 0 * %s\n" % (
                time.strftime("%a %b %d %H:%M:%S %Y"), self.remote_ip, size,
                self.fs.fs2ftp(path), direction, self.username, "c" if complete else "i")
            with open(xferlog, "a") as f:
                f.write(line)

        def on_file_sent(self, file):
            self._xfer(file, "o", True)

        def on_file_received(self, file):
            self._xfer(file, "i", True)

        def on_incomplete_file_sent(self, file):
            self._xfer(file, "o", False)

        def on_incomplete_file_received(self, file):
            self._xfer(file, "i", False)

    pp = cfg.get("passive_ports")
    if pp:
        Handler.passive_ports = range(pp[0], pp[1] + 1)
    Handler.dtp_handler.timeout = int(cfg.get("data_timeout", 30))

    listen = cfg.get("listen", ["127.0.0.1:2121"])[0]
    host, port = listen.rsplit(":", 1)
    server = FTPServer((host, int(port)), Handler)
    server.max_cons = int(cfg.get("max_sessions", 512))
    server.max_cons_per_ip = int(cfg.get("max_sessions_per_ip", 0))
    h, p = server.address[:2]
    print("pyftpd_shim: listening on %s:%d" % (h, p), file=sys.stderr, flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        server.serve_forever(handle_exit=False)
    except KeyboardInterrupt:
        pass
    server.close_all()
    print("pyftpd_shim: stopped", file=sys.stderr, flush=True)
    return 0


def main(argv):
    if len(argv) < 2 or argv[0] != "--config":
        print("usage: pyftpd_shim.py --config FILE [user add NAME --password-stdin]", file=sys.stderr)
        return 2
    cfg = load_config(argv[1])
    rest = argv[2:]
    if rest[:2] == ["user", "add"]:
        return user_add(cfg, rest[2:])
    if rest:
        print("unsupported: %s" % rest, file=sys.stderr)
        return 2
    return serve(cfg)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
