"""data_loss_report against a real PostgreSQL database."""
from __future__ import annotations

import psycopg2
import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import PostgresError, connect
from ansible_collections.runbooks.rollback.plugins.modules import data_loss_report
from module_runner import run_module

SINCE = "2026-11-24T10:00:00Z"


@pytest.fixture()
def app_db(pg_conn, pg_db):
    """A small open-discussions-like schema with rows before and after SINCE."""
    with pg_conn.cursor() as cur:
        cur.execute('''
            CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE, date_joined timestamptz NOT NULL);
            CREATE TABLE course_catalog_podcast (id serial PRIMARY KEY, title text, created_on timestamptz NOT NULL,
                                                 published boolean DEFAULT true);
            CREATE TABLE channels_post (id serial PRIMARY KEY, title text, created_at timestamp NOT NULL);
            CREATE TABLE "weird ""ta ble""" (id serial PRIMARY KEY, "created on" timestamptz, created_on timestamptz);
            CREATE TABLE no_time (id serial PRIMARY KEY, created_on text);
            INSERT INTO auth_user (username, date_joined) VALUES
              ('before', '2026-11-24T09:59:59.999999Z'), ('exact', '2026-11-24T10:00:00Z'),
              ('after1', '2026-11-24T10:30:00+00:00'), ('after2', '2026-11-24T13:00:00+02:00');
            INSERT INTO course_catalog_podcast (title, created_on, published) VALUES
              ('old', '2026-11-01T00:00:00Z', true), ('new', '2026-11-24T11:00:00Z', true),
              ('draft', '2026-11-24T11:00:00Z', false);
            INSERT INTO channels_post (title, created_at) VALUES ('p1', '2026-11-24 10:00:01'), ('p0', '2026-11-23 10:00');
            INSERT INTO "weird ""ta ble""" (created_on) VALUES ('2026-11-24T12:00:00Z'), ('2026-11-24T12:00:00Z');
        ''')
    return pg_db


def report(capsys, db, **args):
    return run_module(data_loss_report, dict(db["module_args"], **args), capsys)


def test_default_tables_and_the_boundary(capsys, app_db):
    result, failed = report(capsys, app_db, since=SINCE)
    assert not failed, result
    # A row exactly at `since` is counted; one a microsecond before is not.
    assert result["counts"] == {"users": 3, "podcasts": 2}
    assert result["total_rows"] == 5
    assert result["missing_tables"] == []
    assert result["since"] == SINCE and result["changed"] is False
    assert result["snapshot_at"].endswith("Z")


def test_where_condition_and_labels(capsys, app_db):
    result, failed = report(capsys, app_db, since=SINCE, tables=[
        {"table": "course_catalog_podcast", "timestamp_column": "created_on", "label": "published podcasts",
         "where": "published"}])
    assert not failed
    assert result["counts"] == {"published podcasts": 1}


def test_quoted_table_name_with_spaces(capsys, app_db):
    result, failed = report(capsys, app_db, since=SINCE, tables=[
        {"table": 'weird "ta ble"', "timestamp_column": "created_on"}])
    assert not failed, result
    assert result["counts"] == {'weird "ta ble"': 2}


def test_discover_finds_created_on_and_created_at(capsys, app_db):
    result, failed = report(capsys, app_db, since=SINCE, tables=[], discover=True)
    assert not failed, result
    counts = result["counts"]
    assert counts["auth_user"] == 3
    assert counts["course_catalog_podcast"] == 2
    assert counts["channels_post"] == 1          # timestamp without time zone, compared in UTC
    assert counts['weird "ta ble"'] == 2
    assert "no_time" not in counts              # created_on is text: not a creation time


def test_explicit_entries_win_over_discovery(capsys, app_db):
    result, failed = report(capsys, app_db, since=SINCE, discover=True, tables=[
        {"table": "auth_user", "timestamp_column": "date_joined", "label": "users"}])
    assert not failed
    assert result["counts"]["users"] == 3 and "auth_user" not in result["counts"]


def test_missing_table_column_and_wrong_type_are_reported_not_fatal(capsys, app_db):
    result, failed = report(capsys, app_db, since=SINCE, tables=[
        {"table": "auth_user", "timestamp_column": "date_joined"},
        {"table": "channels_channel", "timestamp_column": "created_on"},
        {"table": "auth_user", "timestamp_column": "last_login", "label": "logins"},
        {"table": "no_time", "timestamp_column": "created_on"}])
    assert not failed, result
    assert result["counts"] == {"auth_user": 3}
    reasons = {m["table"]: m["reason"] for m in result["missing_tables"]}
    assert reasons["public.channels_channel"] == "table public.channels_channel does not exist"
    assert "column last_login does not exist" in reasons["public.auth_user"]
    assert "is text, not a timestamp" in reasons["public.no_time"]
    assert [t["missing"] for t in result["tables"]] == [False, True, True, True]


def test_a_hostile_table_name_is_an_identifier_not_sql(capsys, app_db, pg_conn):
    result, failed = report(capsys, app_db, since=SINCE, tables=[
        {"table": 'auth_user"; DROP TABLE auth_user; --', "timestamp_column": "date_joined"}])
    assert not failed
    assert result["missing_tables"][0]["reason"].startswith("table public.auth_user\"; DROP TABLE")
    with pg_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM auth_user")
        assert cur.fetchone()[0] == 4


@pytest.mark.parametrize("args, message", [
    ({"since": "2026-11-24T10:00:00"}, "has no time zone"),
    ({"since": "soon"}, "not an ISO 8601 time"),
    ({"since": SINCE, "tables": [{"table": "auth_user", "timestamp_column": "date_joined", "where": "1=1; DELETE"}]},
     "without ';'"),
    ({"since": SINCE, "tables": [{"table": "auth_user"}]}, "timestamp_column"),
    ({"since": SINCE, "tables": "auth_user"}, "dictionary requested"),
    ({"since": SINCE, "discover": "often"}, "discover"),
    ({"since": SINCE, "port": "fivefourthreetwo"}, "port"),
    ({"since": SINCE, "ssl_mode": "sometimes"}, "ssl_mode"),
    ({"since": SINCE, "discover": True, "discover_columns": {"a": 1}}, "discover_columns"),
    ({"since": SINCE, "tables": [{"table": "auth_user", "timestamp_column": "date_joined", "colour": "x"}]},
     "colour"),
    ({"since": SINCE, "connect_timeout": "soon"}, "connect_timeout"),
    ({"since": SINCE, "tables": [{"table": "auth_user", "timestamp_column": "date_joined", "where": "nonsense("}]},
     "counting rows of public.auth_user failed"),
])
def test_bad_input(capsys, app_db, args, message):
    result, failed = report(capsys, app_db, **args)
    assert failed
    assert message in result["msg"]


def test_connection_failure_names_the_target_and_hides_the_password(capsys, app_db):
    args = dict(app_db["module_args"], port=1, login_password="s3cret-pw", since=SINCE)
    result, failed = run_module(data_loss_report, args, capsys)
    assert failed
    assert "cannot connect to database %s" % app_db["dbname"] in result["msg"]
    assert "port 1" in result["msg"] and "Check that PostgreSQL runs" in result["msg"]
    assert "s3cret-pw" not in result["msg"]


def test_read_only_session_cannot_write(app_db):
    conn = connect(dict(app_db["module_args"], login_host="", login_password="", ssl_mode="prefer",
                        ca_cert=None, connect_timeout=5), readonly=True, isolation="repeatable read")
    try:
        with conn.cursor() as cur:
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                cur.execute("INSERT INTO auth_user (username, date_joined) VALUES ('x', now())")
    finally:
        conn.close()


def test_connect_reports_unknown_database(app_db):
    with pytest.raises(PostgresError, match="cannot connect to database nope_db"):
        connect(dict(app_db["module_args"], db="nope_db", login_host="", login_password="", ssl_mode="prefer",
                     ca_cert=None, connect_timeout=5))
