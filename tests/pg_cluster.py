"""A throw-away PostgreSQL cluster on a unix socket, for tests and benchmarks.

initdb/postgres refuse to run as root, so as root the server runs as ``postgres``
through ``runuser``.  Used by tests/unit/conftest.py and bench/.

With ``tcp_password`` the TCP logins on 127.0.0.1 need a password (scram-sha-256, as a managed
PostgreSQL), the socket stays trusted; with ``ssl`` the server also offers TLS with a self-signed
certificate for 127.0.0.1 and localhost, which verifies itself (``ca_cert``).
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from typing import Iterator

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


class ClusterError(RuntimeError):
    """The cluster could not be created or started."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def pg_cluster(settings: tuple[str, ...] = ("fsync=off",), tcp_password: bool = False,
               ssl: bool = False) -> Iterator[dict]:
    """Yield {host (socket dir), port, user, dbname, bin, tcp_host, ca_cert}; stop and remove the cluster after."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        raise ClusterError("PostgreSQL server binaries not found in %s: install postgresql-15 "
                           "(make test does) or set PG_BIN" % PG_BIN)
    base = tempfile.mkdtemp(prefix="rb-pg-")
    os.chmod(base, 0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = os.path.join(base, "data"), os.path.join(base, "log"), _free_port()

    def run(*cmd: str) -> None:
        subprocess.run(prefix + list(cmd), check=True, cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    run(os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    settings, ca_cert = tuple(settings), None
    if tcp_password:
        run("sh", "-c", "printf 'local all all trust\\nhost all all 127.0.0.1/32 scram-sha-256\\n' > %s"
            % os.path.join(data, "pg_hba.conf"))
    if ssl:
        ca_cert = os.path.join(base, "server.crt")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", os.path.join(data, "server.key"), "-out", ca_cert)
        run("chmod", "0600", os.path.join(data, "server.key"))
        settings += ("ssl=on", "ssl_cert_file=" + ca_cert, "ssl_key_file=" + os.path.join(data, "server.key"))
    options = "-k %s -p %d -c listen_addresses=127.0.0.1 %s" % (
        base, port, " ".join("-c " + s for s in settings))
    run(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-l", log, "-w", "-o", options, "start")
    try:
        yield {"host": base, "port": port, "user": "postgres", "dbname": "postgres", "bin": PG_BIN,
               "tcp_host": "127.0.0.1", "ca_cert": ca_cert}
    finally:
        run(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
