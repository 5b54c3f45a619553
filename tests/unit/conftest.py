"""Shared fixtures for the unit tests: a real, throw-away PostgreSQL 15 cluster.

No mocks of the database.  The cluster is created once per test session with the
server binaries of the machine (``PG_BIN``, default ``/usr/lib/postgresql/15/bin``).
``initdb`` refuses to run as root, so when the tests run as root the server runs as
the ``postgres`` user via ``runuser``; tests connect over a unix socket in a temp dir.
When the binaries are missing the suite fails (``make test`` installs them): a
skipped database test is not coverage.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from typing import Iterator

import psycopg2
import pytest

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[dict]:
    """Start a PostgreSQL cluster; yield connection parameters (host = socket dir)."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        pytest.fail("PostgreSQL server binaries not found in %s: install postgresql-15 "
                    "(make test does) or set PG_BIN" % PG_BIN)
    base = tempfile.mkdtemp(prefix="rb-pgtest-")
    os.chmod(base, 0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = os.path.join(base, "data"), os.path.join(base, "log"), _free_port()

    def run(*cmd: str) -> None:
        subprocess.run(prefix + list(cmd), check=True, cwd=base,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    run(os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
        "-E", "UTF8", "--no-sync")
    run(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-l", log, "-w", "-o",
        "-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off" % (base, port), "start")
    try:
        yield {"host": base, "port": port, "user": "postgres", "dbname": "postgres",
               "bin": PG_BIN}
    finally:
        run(os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def pg_db(pg_server: dict) -> Iterator[dict]:
    """A fresh, empty database for one test; dropped afterwards.

    Yields the server parameters with ``dbname`` set to the new database, plus
    ``module_args``: the common connection options of the collection's modules.
    """
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(host=pg_server["host"], port=pg_server["port"],
                             user=pg_server["user"], dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    params = dict(pg_server, dbname=name)
    params["module_args"] = {
        "login_unix_socket": pg_server["host"],
        "port": pg_server["port"],
        "login_user": pg_server["user"],
        "db": name,
    }
    try:
        yield params
    finally:
        with admin.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        admin.close()


@pytest.fixture()
def pg_conn(pg_db: dict) -> Iterator["psycopg2.extensions.connection"]:
    """An autocommit psycopg2 connection to the per-test database, for arranging data."""
    conn = psycopg2.connect(host=pg_db["host"], port=pg_db["port"], user=pg_db["user"],
                            dbname=pg_db["dbname"])
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()
