"""django_sessions against a real PostgreSQL database, with session data in Django's own formats."""
from __future__ import annotations

import base64
import json
import threading
import time
import zlib

import psycopg2
import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils.django_sessions import (
    Undecodable, decode_session, session_user, trend)
from ansible_collections.runbooks.rollback.plugins.modules import django_sessions
from module_runner import run_module

# As Django creates it (django.contrib.sessions, migration 0001).
SESSION_TABLE = '''
CREATE TABLE {name} (session_key varchar(40) NOT NULL PRIMARY KEY, session_data text NOT NULL,
                     expire_date timestamptz NOT NULL);
CREATE INDEX ON {name} (expire_date);
'''


def signed(session: dict, compress: bool = False) -> str:
    """``django.core.signing.dumps(session, compress=...)`` with a signature nobody checks here."""
    data = json.dumps(session, separators=(",", ":")).encode("latin-1")
    prefix = ""
    if compress:
        data, prefix = zlib.compress(data), "."
    payload = prefix + base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    return "%s:1tPqAb:%s" % (payload, "x" * 43)


def legacy(session: dict) -> str:
    """Django < 3.1 ``SessionBase.encode``: base64 of ``<hash>:<json>``."""
    serialized = json.dumps(session, separators=(",", ":")).encode()
    return base64.b64encode(b"5c9b5f8e0a2d4d6e8f1a3b5c7d9e1f2a3b4c5d6e:" + serialized).decode("ascii")


def logged_in(user_id: str, **extra) -> dict:
    return dict({"_auth_user_id": user_id, "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                 "_auth_user_hash": "ab" * 20}, **extra)


# Active: user 90210 twice (one compressed, a big session), user 31337 (legacy format), an
# anonymous session, and two undecodable ones. Expired: user 55555. Keys and ids are unusual
# enough that finding one in a result would mean it leaked.
ACTIVE = [
    ("key90210plainaaaaaaaaaaaaaaaaaaaaaaaaaa", signed(logged_in("90210"))),
    ("key90210compressedbbbbbbbbbbbbbbbbbbbbb", signed(logged_in("90210", cart=["item-%d" % i for i in range(200)]),
                                                       compress=True)),
    ("key31337legacycccccccccccccccccccccccccc", legacy(logged_in("31337"))),
    ("keyanonymousdddddddddddddddddddddddddddd", signed({"django_language": "fr"})),
    ("keygarbageeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "this is not a session"),
    ("keygarbagecolonsfffffffffffffffffffffff", "%%%:not-base64:sig"),
]
EXPIRED = [("key55555expiredgggggggggggggggggggggggg", signed(logged_in("55555")))]
SECRETS = [text for row in ACTIVE + EXPIRED for text in row] + ["90210", "31337", "55555"]


def insert(conn, rows, expires="now() + interval '2 weeks'", table="django_session"):
    with conn.cursor() as cur:
        for key, data in rows:
            cur.execute("INSERT INTO %s (session_key, session_data, expire_date) VALUES (%%s, %%s, %s)"
                        % (table, expires), (key, data))


@pytest.fixture()
def sessions_db(pg_conn, pg_db):
    with pg_conn.cursor() as cur:
        cur.execute(SESSION_TABLE.format(name="django_session"))
    insert(pg_conn, ACTIVE)
    insert(pg_conn, EXPIRED, expires="now() - interval '1 second'")
    return pg_db


def sessions(capsys, db, **args):
    return run_module(django_sessions, dict(db["module_args"], **args), capsys)


# The decoding, without Ansible or a database.

def test_decodes_the_signed_compressed_and_legacy_formats():
    assert decode_session(signed(logged_in("7")))["_auth_user_id"] == "7"
    big = logged_in("8", cart=["x"] * 500)
    compressed = signed(big, compress=True)
    assert compressed.startswith(".") and len(compressed) < len(json.dumps(big))
    assert decode_session(compressed) == big
    assert decode_session(legacy(logged_in("9")))["_auth_user_id"] == "9"
    assert session_user(signed({})) is None


@pytest.mark.parametrize("data", [
    "", "garbage", "a:b", "%%%:x:y", signed({"a": 1}).replace("e", "!", 1),
    "." + signed({"a": 1}),                                    # says compressed, is not
    base64.b64encode(b"no hash separator here").decode(),      # legacy without <hash>:
    base64.b64encode(b"hash:\x80\x04\x95pickle").decode(),     # legacy PickleSerializer
    signed([1, 2]),                                             # JSON, not a session dict
    signed({"_auth_user_id": {"id": 1}}),
])
def test_undecodable_session_data_is_refused_by_the_decoder(data):
    with pytest.raises(Undecodable):
        session_user(data)


def test_trend_compares_the_last_sample_with_the_first():
    assert (trend(3, 5), trend(5, 3), trend(4, 4)) == ("rising", "falling", "steady")


# The module.

def test_counts_active_sessions_and_distinct_users_without_returning_any_of_them(capsys, sessions_db):
    result, failed = sessions(capsys, sessions_db)
    assert not failed, result
    assert result["exists"] is True and result["changed"] is False
    assert result["active"] == 6                 # the expired session is not counted
    assert result["users"] == 2                  # 90210 (twice) and 31337; the anonymous one is nobody
    assert result["undecodable"] == 2
    assert (result["first"], result["last"], result["min"], result["max"]) == (6, 6, 6, 6)
    assert result["trend"] == "steady"
    assert len(result["samples"]) == 1
    assert result["samples"][0]["active"] == 6 and result["samples"][0]["users"] == 2
    assert set(result["samples"][0]) == {"at", "active", "users"}
    assert len(result["samples"][0]["at"]) == 20 and result["samples"][0]["at"].endswith("Z")
    text = json.dumps(result)
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, leaked
    assert "msg" not in result


def test_a_session_expiring_now_is_active_and_one_just_expired_is_not(capsys, sessions_db, pg_conn):
    insert(pg_conn, [("keyexpiresinaminutehhhhhhhhhhhhhhhhhhh", signed(logged_in("4242")))],
           expires="now() + interval '1 minute'")
    insert(pg_conn, [("keyexpiredasecondagoiiiiiiiiiiiiiiiiiii", signed(logged_in("4343")))],
           expires="now() - interval '1 second'")
    result, failed = sessions(capsys, sessions_db)
    assert not failed, result
    assert (result["active"], result["users"]) == (7, 3)


def test_without_decoding_only_the_count_runs(capsys, sessions_db):
    result, failed = sessions(capsys, sessions_db, decode_users=False)
    assert not failed, result
    assert result["active"] == 6
    assert result["users"] is None and result["undecodable"] is None
    assert result["samples"][0]["users"] is None


def test_check_mode_reads_the_same(capsys, sessions_db):
    result, failed = sessions(capsys, sessions_db, _ansible_check_mode=True)
    assert not failed, result
    assert (result["changed"], result["active"], result["users"], result["undecodable"]) == (False, 6, 2, 2)


def test_a_missing_session_table_is_not_a_failure(capsys, pg_db):
    result, failed = sessions(capsys, pg_db, samples=3, interval=60)
    assert not failed, result
    assert result["exists"] is False and result["changed"] is False
    for key in ("active", "users", "undecodable", "first", "last", "min", "max", "trend"):
        assert result[key] is None, key
    assert result["samples"] == []
    assert "has no table public.django_session" in result["msg"]
    assert "no django.contrib.sessions table" in result["msg"]


def test_another_schema_and_table_name(capsys, pg_conn, pg_db):
    with pg_conn.cursor() as cur:
        cur.execute('CREATE SCHEMA app; ' + SESSION_TABLE.format(name='app."My Sessions"'))
    insert(pg_conn, ACTIVE[:3], table='app."My Sessions"')
    result, failed = sessions(capsys, pg_db, schema="app", table="My Sessions")
    assert not failed, result
    assert (result["exists"], result["active"], result["users"], result["undecodable"]) == (True, 3, 2, 0)
    result, failed = sessions(capsys, pg_db, table="My Sessions")
    assert not failed and result["exists"] is False and "public.My Sessions" in result["msg"]


def test_a_table_that_is_not_a_session_table_is_refused(capsys, pg_conn, pg_db):
    with pg_conn.cursor() as cur:
        cur.execute("CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, session_data text)")
    result, failed = sessions(capsys, pg_db)
    assert failed
    assert "table public.django_session has no expire_date column" in result["msg"]
    assert "it has: session_key, session_data" in result["msg"]


def test_no_select_privilege_is_explained(capsys, sessions_db, pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("CREATE ROLE rb_nosessions LOGIN; GRANT USAGE ON SCHEMA public TO rb_nosessions")
    try:
        result, failed = sessions(capsys, sessions_db, login_user="rb_nosessions")
        assert failed
        assert "reading the active sessions of public.django_session failed" in result["msg"]
        assert "permission denied" in result["msg"] and "Grant SELECT" in result["msg"]
    finally:
        with pg_conn.cursor() as cur:
            cur.execute("REVOKE ALL ON SCHEMA public FROM rb_nosessions; DROP ROLE rb_nosessions")


def during_the_sleeps(db, actions, quiet=0.5, timeout=30.0):
    """A thread that runs each of ``actions`` (a function of an autocommit connection) while the
    module sleeps between two samples: its connection has been idle since a ROLLBACK for ``quiet``
    seconds (the sampling itself never idles), one action per sleep. Returns (thread, errors)."""
    errors: list = []

    def watch():
        conn = psycopg2.connect(host=db["host"], port=db["port"], user=db["user"], dbname=db["dbname"])
        conn.autocommit = True
        deadline = time.monotonic() + timeout
        done_at = None
        try:
            for action in actions:
                while True:
                    if time.monotonic() > deadline:
                        raise AssertionError("the module never slept between samples")
                    with conn.cursor() as cur:
                        cur.execute("SELECT state_change, clock_timestamp() - state_change > %s * interval '1 second' "
                                    "FROM pg_stat_activity WHERE application_name = 'runbooks.rollback' "
                                    "AND datname = current_database() AND state = 'idle' AND query = 'ROLLBACK'",
                                    (quiet,))
                        found = cur.fetchone()
                    if found and found[1] and found[0] != done_at:
                        action(conn)
                        done_at = found[0]
                        break
                    time.sleep(0.02)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)
        finally:
            conn.close()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, errors


def test_samples_over_time_show_users_coming_back(capsys, sessions_db):
    def users_return(conn):
        insert(conn, [("keyreturn%031d" % i, signed(logged_in("7%04d" % i))) for i in range(4)])
    thread, errors = during_the_sleeps(sessions_db, [users_return])
    started = time.monotonic()
    result, failed = sessions(capsys, sessions_db, samples=2, interval=1.5)
    elapsed = time.monotonic() - started
    thread.join(10)
    assert not errors, errors
    assert not failed, result
    assert elapsed >= 1.5
    assert [(s["active"], s["users"]) for s in result["samples"]] == [(6, 2), (10, 6)]
    assert (result["first"], result["last"], result["min"], result["max"]) == (6, 10, 6, 10)
    assert (result["active"], result["users"], result["trend"]) == (10, 6, "rising")
    assert result["samples"][0]["at"] <= result["samples"][1]["at"]


def test_three_samples_min_max_and_a_falling_trend(capsys, sessions_db):
    def one_more(conn):
        insert(conn, [("keyonemore" + "j" * 30, signed(logged_in("8001")))])

    def three_leave(conn):
        with conn.cursor() as cur:
            cur.execute("UPDATE django_session SET expire_date = now() - interval '1 minute' "
                        "WHERE session_key IN (%s, %s, %s)", (ACTIVE[0][0], ACTIVE[1][0], ACTIVE[2][0]))
    thread, errors = during_the_sleeps(sessions_db, [one_more, three_leave])
    result, failed = sessions(capsys, sessions_db, samples=3, interval=1.5, decode_users=True)
    thread.join(10)
    assert not errors, errors
    assert not failed, result
    assert [s["active"] for s in result["samples"]] == [6, 7, 4]
    assert [s["users"] for s in result["samples"]] == [2, 3, 1]
    assert (result["first"], result["last"], result["min"], result["max"]) == (6, 4, 4, 7)
    assert (result["trend"], result["undecodable"]) == ("falling", 2)


@pytest.mark.parametrize("args, message", [
    ({"samples": 0}, "samples must be 1 or more, got 0"),
    ({"samples": -3}, "samples must be 1 or more, got -3"),
    ({"interval": 0}, "interval must be more than 0 seconds, got 0"),
    ({"interval": -2.5}, "interval must be more than 0 seconds, got -2.5"),
    ({"interval": "inf"}, "interval must be more than 0 seconds, got inf"),
    ({"interval": "soon"}, "interval"),
    ({"samples": "many"}, "samples"),
    ({"decode_users": "perhaps"}, "decode_users"),
])
def test_bad_sampling_options_are_refused(capsys, sessions_db, args, message):
    result, failed = sessions(capsys, sessions_db, **args)
    assert failed
    assert message in result["msg"]


def test_connection_failure_names_the_database(capsys, sessions_db):
    result, failed = sessions(capsys, sessions_db, port=1)
    assert failed and "cannot connect to database %s" % sessions_db["dbname"] in result["msg"]
