# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Django's active sessions: how many, and how many distinct logged-in users behind them.

The session data is decoded without the secret key: the signature is not checked (nothing is
trusted from it but a count). Two formats are read:

- Django 3.1 and later (``django.core.signing``): ``<payload>:<timestamp>:<signature>``, where the
  payload is URL-safe base64 without padding of the JSON, zlib-compressed when it starts with ``.``;
- before 3.1: standard base64 of ``<hash>:<json>``.

A session that is neither (pickled, damaged) is undecodable: counted, never a failure. Nothing
of a session (key, data, user id) leaves this file but counts.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import json
import zlib

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import PostgresError, psycopg2, sql
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import table_columns, table_exists

# Django's SESSION_KEY: the session's user primary key, as a string.
AUTH_USER_KEY = "_auth_user_id"


class Undecodable(ValueError):
    """Session data in neither of Django's formats."""


def _b64_urlsafe(text):
    # type: (str) -> bytes
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_session(data):
    """The session dict of one ``session_data`` value (either format); raises Undecodable."""
    if not isinstance(data, str) or not data:
        raise Undecodable("empty")
    try:
        if ":" in data:
            parts = data.rsplit(":", 2)
            if len(parts) != 3:
                raise Undecodable("not payload:timestamp:signature")
            payload = parts[0]
            compressed = payload.startswith(".")
            raw = _b64_urlsafe(payload[1:] if compressed else payload)
            if compressed:
                raw = zlib.decompress(raw)
            session = json.loads(raw.decode("latin-1"))
        else:
            raw = base64.b64decode(data.encode("ascii"), validate=True)
            _hash, sep, serialized = raw.partition(b":")
            if not sep:
                raise Undecodable("legacy data without hash")
            session = json.loads(serialized.decode("latin-1"))
    except (binascii.Error, zlib.error, ValueError, UnicodeError) as exc:
        raise Undecodable(str(exc))
    if not isinstance(session, dict):
        raise Undecodable("not a JSON object")
    return session


def session_user(data):
    """The user id of a session as a string, None for an anonymous one; raises Undecodable."""
    user = decode_session(data).get(AUTH_USER_KEY)
    if user is None or user == "":
        return None
    if isinstance(user, (dict, list)):
        raise Undecodable("%s is not a scalar" % AUTH_USER_KEY)
    return str(user)


def trend(first, last):
    # type: (int, int) -> str
    if last > first:
        return "rising"
    if last < first:
        return "falling"
    return "steady"


def session_table(cur, schema, table, decode_users):
    """Whether the table exists; a table without Django's columns is refused."""
    if not table_exists(cur, schema, table):
        return False
    columns = table_columns(cur, schema, table)
    needed = ["expire_date"] + (["session_data"] if decode_users else [])
    lacking = [c for c in needed if c not in columns]
    if lacking:
        raise PostgresError("table %s.%s has no %s column (it has: %s): it is not django.contrib.sessions' table; "
                            "give the session table in table/schema%s"
                            % (schema, table, " or ".join(lacking), ", ".join(columns) or "no columns",
                               ", or decode_users=false" if lacking == ["session_data"] else ""))
    return True


def sample(conn, schema, table, decode_users, itersize=2000):
    """One sample in one read-only snapshot: server time, active sessions, distinct users, undecodable.

    ``users`` and ``undecodable`` are None without ``decode_users``. The caller's connection is
    left outside any transaction.
    """
    name = "%s.%s" % (schema, table)
    tbl = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    try:
        with conn.cursor() as cur:
            # now() is the transaction's start: the count and the decoded rows see the same sessions.
            cur.execute(sql.SQL("SELECT now(), count(*) FROM {} WHERE expire_date >= now()").format(tbl))
            moment, active = cur.fetchone()
        users = undecodable = None
        if decode_users:
            seen, undecodable = set(), 0
            cur = conn.cursor(name="rb_sessions")
            cur.itersize = itersize
            try:
                cur.execute(sql.SQL("SELECT session_data FROM {} WHERE expire_date >= now()").format(tbl))
                for (data,) in cur:
                    try:
                        user = session_user(data)
                    except Undecodable:
                        undecodable += 1
                        continue
                    if user is not None:
                        seen.add(user)
            finally:
                cur.close()
            users = len(seen)
    except psycopg2.Error as exc:
        raise PostgresError("reading the active sessions of %s failed: %s. Grant SELECT on it to the login user, "
                            "or connect as the application's database user" % (name, str(exc).strip()))
    finally:
        conn.rollback()
    return {"at": moment, "active": active, "users": users, "undecodable": undecodable}


def summary(samples):
    """The returned figures of a list of samples (at least one)."""
    actives = [s["active"] for s in samples]
    return {
        "active": actives[-1],
        "users": samples[-1]["users"],
        "undecodable": samples[-1]["undecodable"],
        "first": actives[0],
        "last": actives[-1],
        "min": min(actives),
        "max": max(actives),
        "trend": trend(actives[0], actives[-1]),
    }
