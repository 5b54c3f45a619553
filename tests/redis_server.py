"""A throw-away redis-server on 127.0.0.1 and a unix socket in a temp dir, for tests.

Nothing is saved (``--save "" --appendonly no``); the server and its directory go away when the
context ends. Redis refuses ``--port 0``, so a free port is picked (and picked again if another
process takes it first). A missing ``redis-server`` binary is an error, never a skip: ``make units``
installs it (tools/host_deps.py).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator, Optional

REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")


class RedisServerError(RuntimeError):
    """The server could not be started."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(path: str, password: Optional[str]) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(path)
            if password:
                s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password.encode()))
                if not s.recv(100).startswith(b"+OK"):
                    return False
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(100).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(requirepass: Optional[str] = None, tls: bool = False,
                 extra_args: tuple[str, ...] = ()) -> Iterator[dict]:
    """Yield {host, port, socket, password, url, socket_url, version, dir}; stop and remove the server after.

    With ``tls``, a self-signed certificate for 127.0.0.1 is made with ``openssl`` and the server also
    listens with TLS: ``tls_port``, ``tls_url`` (rediss://) and ``ca_file`` (the certificate) are added.
    ``extra_args`` are more redis-server options (e.g. ``--rename-command CLIENT ""``, as managed services do).
    """
    binary = shutil.which(REDIS_SERVER)
    if not binary:
        raise RedisServerError("redis-server not found on PATH: the celery_queues tests need a real Redis; run "
                               "`make units` (tools/host_deps.py installs the redis-server package) or "
                               "`apt-get install redis-server`")
    base = tempfile.mkdtemp(prefix="rb-redis-")
    sock = os.path.join(base, "redis.sock")
    proc = None
    tls_args: list[str] = []
    try:
        if tls:
            if not shutil.which("openssl"):
                raise RedisServerError("openssl not found on PATH: it makes the test server's TLS certificate; run "
                                       "`make units` (tools/host_deps.py installs it) or `apt-get install openssl`")
            cert, key = os.path.join(base, "cert.pem"), os.path.join(base, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            tls_args = ["--tls-cert-file", cert, "--tls-key-file", key, "--tls-auth-clients", "no"]
        for _attempt in range(5):
            port = _free_port()
            tls_port = _free_port() if tls else 0
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", sock,
                    "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", base,
                    "--daemonize", "no", "--logfile", os.path.join(base, "redis.log"), "--databases", "16"]
            if requirepass:
                argv += ["--requirepass", requirepass]
            if tls:
                argv += ["--tls-port", str(tls_port)] + tls_args
            argv += list(extra_args)
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and proc.poll() is None and not _ping(sock, requirepass):
                time.sleep(0.02)
            if proc.poll() is None and _ping(sock, requirepass):
                break
            proc.kill()
            proc.wait()
            proc = None
        if proc is None:
            log = os.path.join(base, "redis.log")
            tail = open(log, encoding="utf-8", errors="replace").read()[-2000:] if os.path.exists(log) else ""
            raise RedisServerError("redis-server did not start: %s" % tail)
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        auth = ":%s@" % requirepass if requirepass else ""
        server = {"host": "127.0.0.1", "port": port, "socket": sock, "password": requirepass,
                  "url": "redis://%s127.0.0.1:%d/0" % (auth, port),
                  "socket_url": "redis+socket://%s%s?virtual_host=0" % (auth, sock), "version": version,
                  "dir": base}
        if tls:
            server.update(tls_port=tls_port, tls_url="rediss://%s127.0.0.1:%d/0" % (auth, tls_port),
                          ca_file=os.path.join(base, "cert.pem"))
        yield server
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)
