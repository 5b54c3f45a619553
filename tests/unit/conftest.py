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
import sys
import uuid
from typing import Iterator

import psycopg2
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pg_cluster import pg_cluster  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def pg_server() -> Iterator[dict]:
    """A PostgreSQL cluster for the session (host = socket dir). Missing binaries fail the suite."""
    with pg_cluster() as server:
        yield server


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


@pytest.fixture(scope="session")
def pg_tcp_server() -> Iterator[dict]:
    """A second cluster as a managed PostgreSQL gives it: TCP logins need a password (scram-sha-256) and
    TLS is offered (self-signed, ``ca_cert``); the socket (``host``) stays trusted for arranging data."""
    with pg_cluster(tcp_password=True, ssl=True) as server:
        yield server
