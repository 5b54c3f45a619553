# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to connect to PostgreSQL for every module of the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

PSYCOPG2_IMPORT_ERROR = None
try:
    import psycopg2
    import psycopg2.extensions
    # For the modules' queries: their identifiers go through sql.Identifier.
    from psycopg2 import sql  # pylint: disable=unused-import
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - reported by the module via missing_required_lib
    psycopg2 = None
    sql = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()


class PostgresError(Exception):
    """A database failure with a message fit for an operator (no password in it)."""


def postgres_common_argument_spec():
    """Connection options shared by the modules (see the postgres doc fragment)."""
    return dict(
        login_user=dict(type="str", default="postgres", aliases=["login"]),
        login_password=dict(type="str", default="", no_log=True),
        login_host=dict(type="str", default=""),
        login_unix_socket=dict(type="str", default=""),
        port=dict(type="int", default=5432, aliases=["login_port"]),
        db=dict(type="str", required=True, aliases=["login_db"]),
        ssl_mode=dict(type="str", default="prefer",
                      choices=["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]),
        ca_cert=dict(type="str", aliases=["ssl_rootcert"]),
        ssl_cert=dict(type="path"),
        ssl_key=dict(type="path"),
        connect_timeout=dict(type="int", default=10),
    )


def connection_kwargs(params):
    kwargs = {
        "user": params["login_user"],
        "dbname": params["db"],
        "port": params["port"],
        "sslmode": params["ssl_mode"],
        "connect_timeout": params["connect_timeout"],
        "application_name": "runbooks.rollback",
        # Timestamps are compared and returned in UTC whatever the server's zone.
        "options": "-c TimeZone=UTC",
    }
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    if params.get("login_host"):
        kwargs["host"] = params["login_host"]
    elif params.get("login_unix_socket"):
        kwargs["host"] = params["login_unix_socket"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    if params.get("ssl_cert"):
        kwargs["sslcert"] = params["ssl_cert"]
    if params.get("ssl_key"):
        kwargs["sslkey"] = params["ssl_key"]
    return kwargs


def where(params):
    host = params.get("login_host") or (params.get("login_unix_socket") and "socket " + params["login_unix_socket"]) \
        or "the default socket"
    return "database %s on %s port %s as %s" % (params["db"], host, params["port"], params["login_user"])


def connect(params, readonly=False, isolation="read committed"):
    """Open a connection in a transaction (not autocommit).

    ``readonly`` makes the session read only; ``isolation`` "repeatable read" gives all the
    queries of the transaction one snapshot.
    """
    if not HAS_PSYCOPG2:
        raise PostgresError("psycopg2 is required on the target host: install python3-psycopg2")
    try:
        conn = psycopg2.connect(**connection_kwargs(params))
    except psycopg2.Error as exc:
        raise PostgresError("cannot connect to %s: %s. Check that PostgreSQL runs and that host, port, "
                            "socket, user and password are right" % (where(params), str(exc).strip()))
    levels = {
        "read committed": psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED,
        "repeatable read": psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ,
        "serializable": psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE,
    }
    conn.set_session(isolation_level=levels[isolation], readonly=readonly, autocommit=False)
    return conn
