"""Idempotent preparation: Debian packages, the peers extracted under work/peers/, the local test
user, and the shared home with the files every workload reads."""
import os
import pwd
import subprocess

# Installed normally: they do not conflict with anything.
APT_PACKAGES = ["gnuplot-nox", "python3-pyftpdlib", "python3-openssl", "libwrap0", "libhiredis0.14", "libmemcached11",
                "libmemcachedutil2", "libpcre2-posix3", "openssl", "libfuse3-dev", "fuse3", "liburing-dev"]
# The three daemons conflict as packages (each provides ftp-server): downloaded and unpacked instead.
# proftpd-mod-crypto holds ProFTPD's mod_tls (Debian 12 builds it outside proftpd-core).
EXTRACTED_PEERS = {"vsftpd": "usr/sbin/vsftpd", "pure-ftpd": "usr/sbin/pure-ftpd",
                   "proftpd-core": "usr/sbin/proftpd", "proftpd-mod-crypto": "usr/lib/proftpd/mod_tls.so"}
USER = "ferrybench"
SMALL_FILES = 100
SMALL_FILE_SIZE = 4096


def log(msg):
    print(f"[bench] {msg}", flush=True)


def _apt_env():
    return dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def _installed(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "ok installed" in out.stdout


def install_packages():
    missing = [p for p in APT_PACKAGES if not _installed(p)]
    if not missing:
        return
    log(f"installing Debian packages: {' '.join(missing)}")
    # Another engineer's `make deps` may hold the dpkg lock: wait for it instead of failing.
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", *missing]
    if subprocess.run(cmd, env=_apt_env(), stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-qq"], env=_apt_env(), check=True)
        subprocess.run(cmd, env=_apt_env(), stdout=subprocess.DEVNULL, check=True)


def extract_peers(work):
    """apt-get download + dpkg -x into work/peers/<package>/ (skipped when already there)."""
    debs = os.path.join(work, "debs")
    os.makedirs(debs, exist_ok=True)
    for package, binary in EXTRACTED_PEERS.items():
        target = os.path.join(work, "peers", package)
        if os.path.exists(os.path.join(target, binary)):
            continue
        log(f"downloading and unpacking {package}")
        cmd = ["apt-get", "download", "-qq", package]
        if subprocess.run(cmd, cwd=debs, stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-qq"], env=_apt_env(), check=True)
            subprocess.run(cmd, cwd=debs, stderr=subprocess.DEVNULL, check=True)
        deb = sorted(f for f in os.listdir(debs) if f.startswith(package + "_") and f.endswith(".deb"))[-1]
        os.makedirs(target, exist_ok=True)
        subprocess.run(["dpkg", "-x", os.path.join(debs, deb), target], check=True)


def ensure_user(home, password, cheap_hash):
    """The local Unix account vsftpd needs (PAM); the other peers reuse its uid and its hash.
    cheap_hash: SHA-512 crypt (~3 ms a login) instead of Debian's default yescrypt (~45 ms)."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        log(f"creating local user {USER}")
        subprocess.run(["useradd", "-M", "-U", "-d", home, "-s", "/usr/sbin/nologin", USER], check=True)
        entry = pwd.getpwnam(USER)
    if entry.pw_dir != home:  # another checkout of the repo: point the account at this one
        subprocess.run(["usermod", "-d", home, USER], check=True)
    method = ["-c", "SHA512"] if cheap_hash else []
    subprocess.run(["chpasswd", *method], input=f"{USER}:{password}\n", text=True, check=True)
    return pwd.getpwnam(USER)


def shadow_hash():
    """The crypt hash chpasswd wrote; ProFTPD's AuthUserFile and pure-ftpd's puredb use the same one,
    so the three forking peers do the same work per login."""
    with open("/etc/shadow") as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == USER:
                return fields[1]
    raise RuntimeError(f"{USER} not in /etc/shadow")


def cheap_argon2id(password):
    """An argon2id hash with small limits (t=1, 3 MiB: ~3 ms, like SHA-512 crypt), made with the
    libsodium that ferryd links; crypto_pwhash_str_verify reads the limits from the string."""
    import ctypes
    sodium = ctypes.CDLL("libsodium.so.23")
    if sodium.sodium_init() < 0:
        raise RuntimeError("sodium_init failed")
    out = ctypes.create_string_buffer(128)
    secret = password.encode()
    rc = sodium.crypto_pwhash_str(out, secret, ctypes.c_ulonglong(len(secret)), ctypes.c_ulonglong(1),
                                  ctypes.c_size_t(3 << 20))
    if rc != 0:
        raise RuntimeError("crypto_pwhash_str failed")
    return out.value.decode()


def ensure_tls_cert(work):
    """One self-signed RSA-2048 certificate for every server's FTPS (made once, under work/tls/):
    returns (cert, key, combined), combined = cert + key in one PEM (pure-ftpd style)."""
    tls = os.path.join(work, "tls")
    os.makedirs(tls, exist_ok=True)
    cert, key, combined = (os.path.join(tls, n) for n in ("cert.pem", "key.pem", "combined.pem"))
    if not (os.path.exists(cert) and os.path.exists(key) and os.path.exists(combined)):
        log("generating the self-signed TLS certificate for tls-download")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        with open(combined, "w") as out:
            for part in (cert, key):
                with open(part) as f:
                    out.write(f.read())
    for path, mode in ((cert, 0o644), (key, 0o600), (combined, 0o600)):
        os.chmod(path, mode)  # read by the servers as root, before they drop privileges
    return cert, key, combined


def ktls_available():
    """(bool, why): the kernel offers the "tls" TCP ULP (kTLS) when it is listed as available."""
    path = "/proc/sys/net/ipv4/tcp_available_ulp"
    try:
        with open(path) as f:
            ulps = f.read().split()
    except OSError:
        return False, f"no {path}"
    if "tls" in ulps:
        return True, f'"tls" in {path}'
    return False, f'no "tls" in {path} ({" ".join(ulps) or "empty"})'


def read_password(work):
    path = os.path.join(work, "password")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("bench-" + os.urandom(9).hex())
        os.chmod(path, 0o600)
    with open(path) as f:
        return f.read().strip()


def _write_pattern_file(path, size):
    """fallocate, then a non-zero pattern (so no layer can shortcut zero pages)."""
    block = bytes((i * 7 + 13) & 0xFF for i in range(1 << 20))
    with open(path + ".tmp", "wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)
        written = 0
        while written < size:
            n = min(len(block), size - written)
            f.write(block[:n])
            written += n
    os.rename(path + ".tmp", path)


def prepare_home(home, big_name, big_size, user_entry):
    """The shared home: the large file (created once per size), the small files and nothing else."""
    os.makedirs(os.path.join(home, "small"), exist_ok=True)
    big = os.path.join(home, big_name)
    if not os.path.exists(big) or os.path.getsize(big) != big_size:
        log(f"creating {big_name} ({big_size >> 20} MiB)")
        _write_pattern_file(big, big_size)
    for i in range(SMALL_FILES):
        path = os.path.join(home, "small", f"f{i:03d}")
        if not os.path.exists(path) or os.path.getsize(path) != SMALL_FILE_SIZE:
            with open(path, "wb") as f:
                f.write(bytes((i + j) & 0xFF for j in range(SMALL_FILE_SIZE)))
    for name in os.listdir(home):  # leftovers of an interrupted upload run
        if name.startswith("up-"):
            os.unlink(os.path.join(home, name))
    for dirpath, dirnames, filenames in os.walk(home):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            os.chown(name, user_entry.pw_uid, user_entry.pw_gid)
    return big


def prepare_file(home, name, size, user_entry):
    """Another pattern file in the home (created once per size), owned by the bench user."""
    path = os.path.join(home, name)
    if not os.path.exists(path) or os.path.getsize(path) != size:
        log(f"creating {name} ({size >> 20} MiB)")
        _write_pattern_file(path, size)
    os.chown(path, user_entry.pw_uid, user_entry.pw_gid)
    return path


def warm_page_cache(path):
    """Read the file once so downloads measure the server, not the disk."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
