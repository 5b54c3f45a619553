"""recent_data_export / recent_data_import: the round trip through a real restore."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import tracemalloc
import uuid

import psycopg2
import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import connect
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import normalize_entries
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_export import export
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import parse_timestamp
from ansible_collections.runbooks.rollback.plugins.modules import data_loss_report, recent_data_export, recent_data_import
from module_runner import run_module

DEPLOYED = "2026-11-24T10:00:00Z"
TABLES = [
    {"table": "auth_user", "timestamp_column": "date_joined", "label": "users"},
    {"table": "course_catalog_podcast", "timestamp_column": "created_on", "label": "podcasts"},
    {"table": 'weird "ta ble"', "timestamp_column": "created_on"},
]
SCHEMA = '''
CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, date_joined timestamptz NOT NULL,
                        is_staff boolean NOT NULL DEFAULT false);
CREATE TABLE course_catalog_podcast (id serial PRIMARY KEY, title text NOT NULL, created_on timestamptz NOT NULL,
                                     owner_id integer REFERENCES auth_user (id), tags text[], meta jsonb);
CREATE TABLE "weird ""ta ble""" (id serial PRIMARY KEY, "the text" text, created_on timestamptz NOT NULL);
INSERT INTO auth_user (username, date_joined) VALUES ('alice', '2026-11-20T09:00:00Z'), ('bob', '2026-11-21T09:00:00Z');
INSERT INTO course_catalog_podcast (title, created_on, owner_id) VALUES ('Old show', '2026-11-22T09:00:00Z', 1);
INSERT INTO "weird ""ta ble""" ("the text", created_on) VALUES ('before', '2026-11-22T09:00:00Z');
'''
AFTER_DEPLOYMENT = '''
INSERT INTO auth_user (username, date_joined, is_staff) VALUES
  ('carol', '2026-11-24T10:05:00Z', false), ('dave', '2026-11-24T10:06:00Z', true), ('erin', '2026-11-24T11:00:00Z', false);
INSERT INTO course_catalog_podcast (title, created_on, owner_id, tags, meta) VALUES
  ('New show', '2026-11-24T10:30:00Z', 3, '{a,"b c"}', '{"k": "v\\\\\\"q"}'),
  ('Carol''s "quoted" show\\n', '2026-11-24T10:40:00Z', 3, NULL, NULL);
INSERT INTO "weird ""ta ble""" ("the text", created_on) VALUES ('after, with "quotes"', '2026-11-24T12:00:00Z');
'''


def admin(pg_server):
    conn = psycopg2.connect(host=pg_server["host"], port=pg_server["port"], user=pg_server["user"], dbname="postgres")
    conn.autocommit = True
    return conn


@pytest.fixture()
def scratch_db(pg_server):
    """Create an empty database for the restore; drop it afterwards."""
    name = "restored_" + uuid.uuid4().hex[:8]
    conn = admin(pg_server)
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    yield name
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    conn.close()


def rows(conn, query):
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


@pytest.fixture()
def app_data(pg_conn):
    """The good schema, its rows, and the rows written after the deployment."""
    with pg_conn.cursor() as cur:
        cur.execute(SCHEMA)
        cur.execute(AFTER_DEPLOYMENT)
    return pg_conn


@pytest.fixture()
def exported(capsys, pg_db, app_data, tmp_path):
    """app_data exported (jsonl) to tmp_path/export; returns the directory."""
    dest = tmp_path / "export"
    result, failed = run_module(recent_data_export, export_args(pg_db, dest), capsys)
    assert not failed, result
    return dest


def export_args(db, dest, **extra):
    return dict(db["module_args"], since=DEPLOYED, dest=str(dest), tables=TABLES, **extra)


def test_round_trip_through_a_real_restore_with_a_key_conflict(capsys, pg_db, pg_conn, pg_server, scratch_db, tmp_path):
    with pg_conn.cursor() as cur:
        cur.execute(SCHEMA)
    backup = str(tmp_path / "pre-deployment.dump")
    conn_args = ["-h", pg_server["host"], "-p", str(pg_server["port"]), "-U", "postgres"]
    subprocess.run([os.path.join(pg_server["bin"], "pg_dump"), "-Fc", "-f", backup] + conn_args + [pg_db["dbname"]],
                   check=True)
    with pg_conn.cursor() as cur:
        cur.execute(AFTER_DEPLOYMENT)
    before_rollback = {t: rows(pg_conn, "SELECT count(*) FROM %s" % t)[0][0]
                       for t in ("auth_user", "course_catalog_podcast", '"weird ""ta ble"""')}

    dest = tmp_path / "export"
    result, failed = run_module(recent_data_export, export_args(pg_db, dest), capsys)
    assert not failed, result
    assert result["total_rows"] == 6 and result["changed"] is True
    assert {f["table"]: f["rows"] for f in result["files"]} == {
        "public.auth_user": 3, "public.course_catalog_podcast": 2, 'public.weird "ta ble"': 1}
    for item in result["files"] + [{"path": result["manifest"]}]:
        assert stat.S_IMODE(os.stat(item["path"]).st_mode) == 0o600, item["path"]
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o700
    assert not [n for n in os.listdir(str(dest)) if n.startswith(".tmp-")]

    # The restore: the pre-deployment backup into a fresh database.
    subprocess.run([os.path.join(pg_server["bin"], "pg_restore"), "-d", scratch_db] + conn_args + [backup], check=True)
    restored = psycopg2.connect(host=pg_server["host"], port=pg_server["port"], user="postgres", dbname=scratch_db)
    restored.autocommit = True
    # Someone signed up on the restored site with the same id and username as erin: a real conflict.
    with restored.cursor() as cur:
        cur.execute("INSERT INTO auth_user (id, username, date_joined) VALUES (5, 'erin', now())")

    import_args = dict(pg_db["module_args"], db=scratch_db, src=str(dest), order=["auth_user"])
    result, failed = run_module(recent_data_import, import_args, capsys)
    assert not failed, result
    assert result["inserted"] == {"public.auth_user": 2, "public.course_catalog_podcast": 2,
                                  'public.weird "ta ble"': 1}
    assert result["skipped"]["public.auth_user"] == 1
    assert result["conflicts"] == [{"table": "public.auth_user", "key": {"id": 5}}]
    assert result["total_inserted"] == 5 and result["changed"] is True

    # Zero rows lost: rows before the rollback = restored + re-imported + reported conflicts.
    for table, count in before_rollback.items():
        assert rows(restored, "SELECT count(*) FROM %s" % table)[0][0] == count, table
    # Values survive exactly, including quotes, arrays, jsonb and newlines.
    assert rows(restored, "SELECT title, tags, meta FROM course_catalog_podcast WHERE id = 2")[0] == \
        rows(pg_conn, "SELECT title, tags, meta FROM course_catalog_podcast WHERE id = 2")[0]
    assert rows(restored, "SELECT title FROM course_catalog_podcast WHERE id = 3")[0][0] == 'Carol\'s "quoted" show\\n'
    # Sequences moved past the imported keys: the application can insert again.
    with restored.cursor() as cur:
        cur.execute("INSERT INTO auth_user (username, date_joined) VALUES ('frank', now()) RETURNING id")
        assert cur.fetchone()[0] == 6
        cur.execute('INSERT INTO "weird ""ta ble""" (created_on) VALUES (now()) RETURNING id')
        assert cur.fetchone()[0] == 3

    # A second import inserts nothing and changes nothing; what it imported before is
    # recognised as already present, and only erin's row is still a conflict.
    result, failed = run_module(recent_data_import, import_args, capsys)
    assert not failed and result["total_inserted"] == 0 and result["changed"] is False
    assert result["total_already_present"] == 5
    assert result["total_skipped"] == 1
    assert result["conflicts"] == [{"table": "public.auth_user", "key": {"id": 5}}]
    restored.close()


def test_import_rolls_back_everything_on_an_error_and_names_the_row(
        capsys, pg_db, pg_server, scratch_db, exported):
    dest = exported
    restored = psycopg2.connect(host=pg_server["host"], port=pg_server["port"], user="postgres", dbname=scratch_db)
    restored.autocommit = True
    with restored.cursor() as cur:
        cur.execute(SCHEMA.split("INSERT", maxsplit=1)[0])  # tables without the users the podcasts reference
    # Podcasts first: their owner (user 3) is not there yet -> foreign key violation.
    result, failed = run_module(recent_data_import, dict(pg_db["module_args"], db=scratch_db, src=str(dest),
                                                         order=['weird "ta ble"', "course_catalog_podcast"]), capsys)
    assert failed
    assert "importing public.course_catalog_podcast failed at row 1" in result["msg"]
    assert '{"id": 2}' in result["msg"] and "Nothing was imported" in result["msg"]
    assert rows(restored, 'SELECT count(*) FROM "weird ""ta ble"""')[0][0] == 0
    restored.close()


def test_tampered_export_is_refused_before_anything_is_written(capsys, pg_db, pg_conn, exported):
    dest = exported
    with pg_conn.cursor() as cur:
        cur.execute("DELETE FROM course_catalog_podcast WHERE created_on >= %s", (DEPLOYED,))
        cur.execute("DELETE FROM auth_user WHERE date_joined >= %s", (DEPLOYED,))
    with open(str(dest / "public.auth_user.jsonl"), "a") as handle:
        handle.write('{"id": 99, "username": "mallory", "date_joined": "2026-11-24T10:00:00Z"}\n')
    result, failed = run_module(recent_data_import, dict(pg_db["module_args"], src=str(dest)), capsys)
    assert failed and "changed since the export" in result["msg"] and "nothing was imported" in result["msg"]
    assert rows(pg_conn, "SELECT count(*) FROM auth_user")[0][0] == 2


def test_import_check_mode_reports_and_rolls_back(capsys, pg_db, pg_conn, exported):
    dest = exported
    with pg_conn.cursor() as cur:
        cur.execute("DELETE FROM course_catalog_podcast WHERE created_on >= %s", (DEPLOYED,))
    result, failed = run_module(recent_data_import, dict(pg_db["module_args"], src=str(dest), _ansible_check_mode=True),
                                capsys)
    assert not failed
    assert result["inserted"]["public.course_catalog_podcast"] == 2 and result["changed"] is True
    assert rows(pg_conn, "SELECT count(*) FROM course_catalog_podcast")[0][0] == 1


def test_export_check_mode_writes_nothing(capsys, pg_db, app_data, tmp_path):
    dest = tmp_path / "export"
    result, failed = run_module(recent_data_export, export_args(pg_db, dest, _ansible_check_mode=True), capsys)
    assert not failed
    assert result["total_rows"] == 6 and result["changed"] is True
    assert result["files"][0]["path"] == str(dest / "public.auth_user.jsonl")
    assert not dest.exists()


def test_export_counts_what_data_loss_report_counts_in_each_way_it_ends(capsys, pg_db, app_data, tmp_path):
    """The database phase takes the export's counts as the data-loss report: they must be the report's."""
    counted, failed = run_module(data_loss_report, dict(pg_db["module_args"], since=DEPLOYED, tables=TABLES), capsys)
    assert not failed, counted
    assert counted["counts"] == {"users": 3, "podcasts": 2, 'weird "ta ble"': 1}
    dest = tmp_path / "export"
    checked, failed = run_module(recent_data_export, export_args(pg_db, dest, _ansible_check_mode=True), capsys)
    assert not failed and not dest.exists()
    exported, failed = run_module(recent_data_export, export_args(pg_db, dest), capsys)
    assert not failed, exported
    written_at(dest, "2026-11-24T12:00:00Z")
    kept, failed = run_module(recent_data_export, export_args(pg_db, dest, keep_if_after="2026-11-24T11:59:59Z"), capsys)
    assert not failed and kept["kept"] is True
    for result in (checked, exported, kept):
        assert result["counts"] == counted["counts"], result
        assert result["total_rows"] == counted["total_rows"] == 6
        assert result["since"] == counted["since"] == DEPLOYED


def test_existing_export_is_never_overwritten_without_force(capsys, pg_db, exported):
    dest = exported
    first = (dest / "manifest.json").read_text()
    result, failed = run_module(recent_data_export, export_args(pg_db, dest), capsys)
    assert failed and "never overwritten" in result["msg"] and "force=true" in result["msg"]
    assert (dest / "manifest.json").read_text() == first
    result, failed = run_module(recent_data_export, export_args(pg_db, dest, force=True), capsys)
    assert not failed


def written_at(dest, stamp):
    """Set the time the export's manifest was written (its mtime), as if it were that old."""
    moment = parse_timestamp(stamp, "stamp").timestamp()
    os.utime(str(dest / "manifest.json"), (moment, moment))


def test_an_export_written_since_the_stop_is_kept(capsys, pg_db, app_data, exported):
    first = (exported / "manifest.json").read_text()
    written_at(exported, "2026-11-24T12:00:00Z")
    with app_data.cursor() as cur:
        cur.execute("INSERT INTO auth_user (username, date_joined) VALUES ('late', '2026-11-24T12:30:00Z')")
    result, failed = run_module(recent_data_export, export_args(pg_db, exported, keep_if_after="2026-11-24T11:59:59Z"),
                                capsys)
    assert not failed, result
    assert result["kept"] is True and result["changed"] is False and result["moved_aside"] is None
    assert result["total_rows"] == 6 and result["files"][0]["path"] == str(exported / "public.auth_user.jsonl")
    assert (exported / "manifest.json").read_text() == first
    assert sorted(os.listdir(str(exported.parent))) == ["export"]


def test_an_export_older_than_the_stop_is_moved_aside_and_the_rows_exported_again(
        capsys, pg_db, app_data, exported):
    # The services ran again after this export (a rescue restarted them) and a user signed up.
    first = (exported / "manifest.json").read_text()
    written_at(exported, "2026-11-24T12:00:00Z")
    with app_data.cursor() as cur:
        cur.execute("INSERT INTO auth_user (username, date_joined) VALUES ('late', '2026-11-24T12:30:00Z')")
    args = export_args(pg_db, exported, keep_if_after="2026-11-24T13:00:00Z")
    result, failed = run_module(recent_data_export, dict(args, _ansible_check_mode=True), capsys)
    assert not failed, result
    aside = exported.parent / "export.stale-20261124T120000Z"
    assert result["changed"] is True and result["moved_aside"] == str(aside) and result["total_rows"] == 7
    assert not aside.exists() and (exported / "manifest.json").read_text() == first
    result, failed = run_module(recent_data_export, args, capsys)
    assert not failed, result
    assert result["kept"] is False and result["changed"] is True and result["moved_aside"] == str(aside)
    assert result["total_rows"] == 7
    assert "late" in (exported / "public.auth_user.jsonl").read_text()
    assert (aside / "manifest.json").read_text() == first, "the stale export was not kept whole"
    assert stat.S_IMODE(os.stat(str(exported)).st_mode) == 0o700
    # The fresh one is now recent enough: a second run keeps it.
    result, failed = run_module(recent_data_export, args, capsys)
    assert not failed and result["kept"] is True and result["total_rows"] == 7


def test_an_export_of_another_deployment_time_is_not_kept_however_recent(capsys, pg_db, exported):
    args = dict(export_args(pg_db, exported, keep_if_after="2026-01-01T00:00:00Z"), since="2026-11-24T10:10:00Z")
    result, failed = run_module(recent_data_export, args, capsys)
    assert not failed, result
    assert result["kept"] is False and result["moved_aside"].startswith(str(exported) + ".stale-")
    assert result["total_rows"] == 4  # erin, both new shows, the weird row: carol and dave joined before 10:10
    assert json.loads((exported / "manifest.json").read_text())["since"] == "2026-11-24T10:10:00+00:00"
    # Fewer tables asked for: kept. A table it does not have: not kept.
    result, failed = run_module(recent_data_export, dict(args, tables=TABLES[:1]), capsys)
    assert not failed and result["kept"] is True, result
    written_at(exported, "2026-11-24T12:30:00Z")
    args["tables"] = TABLES + [{"table": "auth_group", "timestamp_column": "created_on"}]
    result, failed = run_module(recent_data_export, args, capsys)
    assert not failed and result["kept"] is False, result
    assert result["moved_aside"] == str(exported) + ".stale-20261124T123000Z"
    assert result["missing_tables"] == [{"table": "public.auth_group", "reason": result["missing_tables"][0]["reason"]}]


@pytest.mark.parametrize("setup, args, message", [
    ("garbage", {"keep_if_after": "2026-11-24T13:00:00Z"}, "whose manifest.json cannot be read"),
    ("aside", {"keep_if_after": "2026-11-24T13:00:00Z"}, "which exists already"),
    ("ok", {"keep_if_after": "2026-11-24T13:00:00Z", "force": True}, "force and keep_if_after exclude each other"),
    ("ok", {"keep_if_after": "yesterday"}, "keep_if_after: 'yesterday' is not an ISO 8601 time"),
])
def test_keep_if_after_refuses_what_it_cannot_judge_and_moves_nothing(capsys, pg_db, exported, setup, args, message):
    if setup == "garbage":
        (exported / "manifest.json").write_text("{not json")
    written_at(exported, "2026-11-24T12:00:00Z")
    if setup == "aside":
        (exported.parent / "export.stale-20261124T120000Z").mkdir()
    before = sorted(os.listdir(str(exported.parent))), (exported / "manifest.json").read_text()
    result, failed = run_module(recent_data_export, export_args(pg_db, exported, **args), capsys)
    assert failed and message in result["msg"], result
    assert (sorted(os.listdir(str(exported.parent))), (exported / "manifest.json").read_text()) == before


def test_csv_and_django_fixture_formats(capsys, pg_db, app_data, tmp_path):
    result, failed = run_module(recent_data_export, export_args(pg_db, tmp_path / "csv", format="csv"), capsys)
    assert not failed
    lines = (tmp_path / "csv" / "public.auth_user.csv").read_text().splitlines()
    assert lines[0] == "id,username,date_joined,is_staff" and len(lines) == 4
    # A table whose model cannot be derived is refused, and no partial fixture is left behind.
    result, failed = run_module(recent_data_export, export_args(pg_db, tmp_path / "fx0", format="django_fixture"),
                                capsys)
    assert failed and 'cannot derive the Django model of table weird "ta ble"' in result["msg"]
    assert os.listdir(str(tmp_path / "fx0")) == []
    tables = TABLES[:2] + [dict(TABLES[2], model="odd.thing")]
    args = dict(export_args(pg_db, tmp_path / "fx", format="django_fixture"), tables=tables)
    result, failed = run_module(recent_data_export, args, capsys)
    assert not failed, result
    fixture = json.loads((tmp_path / "fx" / "fixture.json").read_text())
    assert len(fixture) == 6
    assert [o["model"] for o in fixture] == ["auth.user"] * 3 + ["course_catalog.podcast"] * 2 + ["odd.thing"]
    podcast = [o for o in fixture if o["model"] == "course_catalog.podcast"][0]
    assert podcast["pk"] == 2 and podcast["fields"]["owner"] == 3 and "owner_id" not in podcast["fields"]
    assert "id" not in podcast["fields"]
    assert stat.S_IMODE(os.stat(str(tmp_path / "fx" / "fixture.json")).st_mode) == 0o600


@pytest.mark.parametrize("args, message", [
    ({"since": "2026-11-24 10:00"}, "has no time zone"),
    ({"format": "xml"}, "value of format must be one of"),
    ({"force": "please"}, "force"),
    ({"dest": "/etc/hostname"}, "dest /etc/hostname exists and is not a directory"),
    ({"tables": [{"table": "auth_user", "timestamp_column": "date_joined", "where": "true; DROP TABLE x"}]},
     "without ';'"),
])
def test_export_bad_input(capsys, pg_db, tmp_path, args, message):
    base = dict(pg_db["module_args"], since=DEPLOYED, dest=str(tmp_path / "e"))
    base.update(args)
    result, failed = run_module(recent_data_export, base, capsys)
    assert failed and message in result["msg"]


@pytest.mark.parametrize("setup, args, message", [
    ("none", {}, "src must be a directory written by recent_data_export"),
    ("garbage", {}, "is not valid JSON"),
    ("ok", {"order": ["no_such_table"]}, "order names table(s) not in the export: no_such_table"),
    ("ok", {"max_conflicts": -1}, "max_conflicts must be 0 or more"),
])
def test_import_bad_input(capsys, pg_db, pg_conn, tmp_path, setup, args, message):
    src = tmp_path / "export"
    if setup == "garbage":
        src.mkdir()
        (src / "manifest.json").write_text("{not json")
    elif setup == "ok":
        with pg_conn.cursor() as cur:
            cur.execute(SCHEMA)
        run_module(recent_data_export, export_args(pg_db, src), capsys)
    result, failed = run_module(recent_data_import, dict(pg_db["module_args"], src=str(src), **args), capsys)
    assert failed and message in result["msg"]


def _peak_export_memory(pg_db, pg_conn, tmp_path, n_rows):
    with pg_conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS big; CREATE TABLE big (id serial PRIMARY KEY, payload text, "
                    "created_on timestamptz NOT NULL)")
        cur.execute("INSERT INTO big (payload, created_on) SELECT repeat('x', 100) || g, "
                    "'2026-11-24T11:00:00Z'::timestamptz FROM generate_series(1, %s) g", (n_rows,))
    params = dict(pg_db["module_args"], login_host="", login_password="", ssl_mode="prefer", ca_cert=None,
                  connect_timeout=5)
    dest = tmp_path / ("big-%d" % n_rows)
    dest.mkdir()
    conn = connect(params, readonly=True, isolation="repeatable read")
    entries = normalize_entries([{"table": "big", "timestamp_column": "created_on"}])
    tracemalloc.start()
    try:
        manifest = export(conn, entries, parse_timestamp(DEPLOYED), "jsonl", str(dest))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        conn.close()
    assert manifest["total_rows"] == n_rows
    return peak


def test_export_memory_is_flat_in_the_number_of_rows(pg_db, pg_conn, tmp_path):
    small = _peak_export_memory(pg_db, pg_conn, tmp_path, 10000)
    large = _peak_export_memory(pg_db, pg_conn, tmp_path, 200000)
    # 20x the rows; a non-streaming export would need ~20x the memory.
    assert large < 2 * small, (small, large)


HARD_TEXTS = ["line\nbreak", "carriage\rreturn", "tab\there", "back\\slash", 'quote " and \'', "\x01 and \x02",
              "\\.", "", "é ü ß", "emoji \U0001F680", "a,b;c|d", '{"not": "json"}']


@pytest.mark.parametrize("encoding", ["UTF8", "LATIN1"])
def test_jsonl_export_keeps_every_value_exactly_in_any_database_encoding(capsys, pg_server, tmp_path, encoding):
    """The jsonl file is written by COPY: each line must be the JSON of one row, UTF-8, whatever the
    text holds (newlines, control characters, backslashes, quotes) and whatever the database's encoding."""
    name = "enc_" + uuid.uuid4().hex[:8]
    conn = admin(pg_server)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE \"%s\" TEMPLATE template0 ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C'"
                    % (name, encoding))
    texts = [t for t in HARD_TEXTS if encoding == "UTF8" or all(ord(ch) < 256 for ch in t)]
    try:
        db = psycopg2.connect(host=pg_server["host"], port=pg_server["port"], user="postgres", dbname=name)
        db.autocommit = True
        with db.cursor() as cur:
            cur.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text, extra jsonb, created_on timestamptz)")
            for text in texts:
                cur.execute("INSERT INTO notes (body, extra, created_on) VALUES (%s, %s, '2026-11-24T11:00:00Z')",
                            (text, json.dumps({"body": text})))
            cur.execute("INSERT INTO notes (body, extra, created_on) VALUES (NULL, NULL, '2026-11-24T11:00:00Z')")
            cur.execute("INSERT INTO notes (body, created_on) VALUES ('before', '2026-11-23T11:00:00Z')")
        db.close()
        dest = tmp_path / "export"
        args = {"login_unix_socket": pg_server["host"], "port": pg_server["port"], "login_user": "postgres",
                "db": name, "since": DEPLOYED, "dest": str(dest),
                "tables": [{"table": "notes", "timestamp_column": "created_on"}]}
        result, failed = run_module(recent_data_export, args, capsys)
        assert not failed, result
        assert result["total_rows"] == len(texts) + 1
        with open(str(dest / "public.notes.jsonl"), encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        assert lines[-1] == "" and len(lines) == len(texts) + 2
        exported = [json.loads(line) for line in lines[:-1]]
        assert [row["body"] for row in exported] == texts + [None]
        assert [row["extra"] for row in exported] == [{"body": t} for t in texts] + [None]
        assert [row["id"] for row in exported] == list(range(1, len(texts) + 2))
    finally:
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        conn.close()
