"""pyftpdlib peer for the benchmark: one user, no throttling, logging at WARNING only.

Run with the system interpreter (/usr/bin/python3), which is the one that sees Debian's
python3-pyftpdlib. Usage: pyftpd_server.py HOST PORT USER PASSWORD HOME PASV_MIN PASV_MAX [CERT KEY]
With CERT and KEY: TLS_FTPHandler (needs python3-openssl), AUTH TLS optional like the other servers.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.log import config_logging
from pyftpdlib.servers import FTPServer


def main(argv):
    host, port, user, password, home, pasv_min, pasv_max = argv[1:8]
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, home, perm="elradfmwMT")
    handler = FTPHandler
    if len(argv) >= 10:
        from pyftpdlib.handlers import TLS_FTPHandler
        handler = TLS_FTPHandler
        handler.certfile, handler.keyfile = argv[8], argv[9]
        handler.tls_control_required = handler.tls_data_required = False
    handler.authorizer = authorizer
    handler.passive_ports = range(int(pasv_min), int(pasv_max) + 1)
    handler.timeout = 600
    handler.banner = "pyftpdlib ready."
    config_logging(level=logging.WARNING)  # as quiet as the other servers: no per-command log
    server = FTPServer((host, int(port)), handler)
    server.max_cons = 0  # unlimited, like max_clients=0 elsewhere
    server.max_cons_per_ip = 0
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
