"""pg_backup_info against real pg_dump output of a real database."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import time
import tracemalloc

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import backup as backup_utils
from ansible_collections.runbooks.rollback.plugins.modules import pg_backup_info
from module_runner import run_module


@pytest.fixture()
def dumps(pg_db, pg_conn, tmp_path):
    """pg_dump of a small database in every format; returns {name: path}."""
    with pg_conn.cursor() as cur:
        cur.execute("CREATE TABLE channels_channel (id serial PRIMARY KEY, name text, created_on timestamptz)")
        cur.execute("INSERT INTO channels_channel (name, created_on) "
                    "SELECT 'c' || g, now() FROM generate_series(1, 2000) g")
    pg_dump = os.path.join(pg_db["bin"], "pg_dump")
    base = [pg_dump, "-h", pg_db["host"], "-p", str(pg_db["port"]), "-U", pg_db["user"], pg_db["dbname"]]
    out = {}
    for name, args in (("plain", ["-Fp"]), ("custom", ["-Fc"]), ("tar", ["-Ft"]), ("directory", ["-Fd"])):
        path = str(tmp_path / ("backup." + name))
        subprocess.run(base + args + ["-f", path], check=True)
        out[name] = path
    gz = str(tmp_path / "backup.sql.gz")
    with open(out["plain"], "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    out["gzip"] = gz
    return out


def info(capsys, **args):
    return run_module(pg_backup_info, args, capsys)


@pytest.mark.parametrize("name, fmt, compression, listed", [
    ("plain", "plain", "none", False),
    ("gzip", "plain", "gzip", False),
    ("custom", "custom", "none", True),
    ("tar", "tar", "none", True),
    ("directory", "directory", "none", True),
])
def test_every_format_is_detected_and_verified(capsys, dumps, name, fmt, compression, listed):
    result, failed = info(capsys, path=dumps[name])
    assert not failed, result
    assert result["format"] == fmt and result["compression"] == compression
    assert result["verified"] is True and result["changed"] is False
    assert result["size_bytes"] > 0
    if listed:
        assert result["toc_entries"] >= 3
    else:
        assert result["toc_entries"] is None


def test_truncated_plain_dump_is_detected(capsys, dumps, tmp_path):
    cut = tmp_path / "cut.sql"
    data = open(dumps["plain"], "rb").read()
    cut.write_bytes(data[: len(data) // 2])
    result, failed = info(capsys, path=str(cut))
    assert failed
    assert "is truncated: no 'PostgreSQL database dump complete' trailer" in result["msg"]
    assert str(cut) in result["msg"] and "take a new dump" in result["msg"]


def test_plain_dump_is_checked_by_its_head_and_tail_only(capsys, dumps, tmp_path):
    """A 1 TB (sparse) plain dump verifies in seconds: only its head and tail are read."""
    data = open(dumps["plain"], "rb").read()
    huge = tmp_path / "huge.sql"
    try:
        with open(str(huge), "wb") as handle:
            handle.write(data[:4096])
            handle.truncate(1 << 40)
            handle.seek(0, os.SEEK_END)
            handle.write(data[-4096:])
        started = time.monotonic()
        result, failed = info(capsys, path=str(huge))
        elapsed = time.monotonic() - started
    finally:
        huge.unlink()
    assert not failed, result
    assert result["format"] == "plain" and result["size_bytes"] > 1 << 40
    assert elapsed < 10, "a plain dump was read whole (%.1f s)" % elapsed


def test_truncated_gzip_is_detected(capsys, dumps, tmp_path):
    cut = tmp_path / "cut.sql.gz"
    data = open(dumps["gzip"], "rb").read()
    cut.write_bytes(data[: len(data) // 2])
    result, failed = info(capsys, path=str(cut))
    assert failed
    assert "damaged gzip stream" in result["msg"] and str(cut) in result["msg"]


def test_gzip_of_a_truncated_plain_dump_is_detected(capsys, dumps, tmp_path):
    bad = tmp_path / "cut-inside.sql.gz"
    data = open(dumps["plain"], "rb").read()
    with gzip.open(str(bad), "wb") as dst:
        dst.write(data[: len(data) - 200])
    result, failed = info(capsys, path=str(bad))
    assert failed and "is truncated" in result["msg"]


def test_custom_dump_cut_in_its_data_is_detected(capsys, dumps, tmp_path):
    bad = tmp_path / "corrupt.dump"
    data = open(dumps["custom"], "rb").read()
    bad.write_bytes(data[: len(data) * 2 // 3])
    result, failed = info(capsys, path=str(bad))
    assert failed
    assert "truncated or corrupt in its data" in result["msg"] and str(bad) in result["msg"]
    # --list alone (verify_data=false) cannot see it: that is why data is read by default.
    result, failed = info(capsys, path=str(bad), verify_data=False)
    assert not failed and result["data_verified"] is False


def test_custom_dump_with_garbage_toc_is_detected(capsys, dumps, tmp_path):
    bad = tmp_path / "garbage.dump"
    data = bytearray(open(dumps["custom"], "rb").read())
    data[5:400] = os.urandom(395)
    bad.write_bytes(bytes(data))
    result, failed = info(capsys, path=str(bad))
    assert failed and "corrupt or unreadable" in result["msg"]


def test_empty_missing_and_foreign_files(capsys, tmp_path):
    empty = tmp_path / "empty.sql"
    empty.write_bytes(b"")
    result, failed = info(capsys, path=str(empty))
    assert failed and "is empty (0 bytes)" in result["msg"]
    result, failed = info(capsys, path=str(tmp_path / "nope.dump"))
    assert failed and "does not exist" in result["msg"]
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n")
    result, failed = info(capsys, path=str(notes))
    assert failed and "is not a pg_dump backup" in result["msg"]
    result, failed = info(capsys, path=str(tmp_path))
    assert failed and "directory without toc.dat" in result["msg"]


def test_sha256_of_a_directory_backup_is_refused(capsys, dumps):
    result, failed = info(capsys, path=dumps["directory"], sha256="0" * 64)
    assert failed
    assert "sha256 cannot be checked for the directory-format backup %s" % dumps["directory"] in result["msg"]


def test_sha256_match_and_mismatch(capsys, dumps):
    digest = hashlib.sha256(open(dumps["custom"], "rb").read()).hexdigest()
    result, failed = info(capsys, path=dumps["custom"], sha256=digest.upper())
    assert not failed and result["sha256"] == digest
    result, failed = info(capsys, path=dumps["custom"], sha256="0" * 64)
    assert failed and digest in result["msg"] and "0" * 64 in result["msg"]


def _at(path, epoch):
    os.utime(path, (epoch, epoch))


def test_newest_backup_before_the_deployment_is_chosen(capsys, dumps, tmp_path):
    bdir = tmp_path / "backups"
    bdir.mkdir()
    now = time.time()
    older = bdir / "od_1.dump"
    newer = bdir / "od_2.dump"
    after = bdir / "od_3.dump"
    broken = bdir / "od_2b.dump"
    for target in (older, newer, after):
        shutil.copy(dumps["custom"], str(target))
    broken.write_bytes(b"PGDMP garbage")
    _at(str(older), now - 7200)
    _at(str(broken), now - 2400)  # newest before the deployment, but corrupt
    _at(str(newer), now - 3600)
    _at(str(after), now - 600)
    deployed = int(now - 1800)
    result, failed = info(capsys, backup_dir=str(bdir), pattern="od_*.dump", deployed_at=str(deployed))
    assert not failed, result
    assert result["path"] == str(newer)
    assert result["predates_deployment"] is True
    reasons = {c["path"]: c["rejected"] for c in result["candidates"]}
    assert reasons[str(after)] == "taken after the deployment"
    assert "corrupt or unreadable" in reasons[str(broken)]
    assert reasons[str(newer)] is None
    assert reasons[str(older)] == "older than the chosen backup"


def test_all_backups_newer_than_the_deployment_is_a_clear_failure(capsys, dumps, tmp_path):
    bdir = tmp_path / "backups"
    bdir.mkdir()
    late = bdir / "od_late.dump"
    shutil.copy(dumps["custom"], str(late))
    result, failed = info(capsys, backup_dir=str(bdir), deployed_at="2020-01-01T00:00:00Z")
    assert failed
    assert "no usable backup in %s older than the deployment" % bdir in result["msg"]
    assert "%s: taken after the deployment" % late in result["msg"]
    assert result["candidates"] == [{"path": str(late), "created_at": result["candidates"][0]["created_at"],
                                     "rejected": "taken after the deployment"}]


def test_the_chosen_backup_is_read_once(capsys, dumps, tmp_path, pg_db):
    """Choosing in a directory verifies the backup; the module does not read it a second time."""
    bdir = tmp_path / "backups"
    bdir.mkdir()
    shutil.copy(dumps["custom"], str(bdir / "od_1.dump"))
    calls = tmp_path / "calls.log"
    wrapper = tmp_path / "pg_restore"
    wrapper.write_text('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n'
                       % (calls, os.path.join(pg_db["bin"], "pg_restore")))
    wrapper.chmod(0o755)
    result, failed = info(capsys, backup_dir=str(bdir), pg_restore_path=str(wrapper))
    assert not failed, result
    lines = calls.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["--list", "--file"], lines


def test_explicit_backup_newer_than_the_deployment_is_refused(capsys, dumps):
    result, failed = info(capsys, path=dumps["custom"], deployed_at="2020-01-01T00:00:00Z")
    assert failed
    assert "after the deployment" in result["msg"] and "require_predates_deployment=false" in result["msg"]
    result, failed = info(capsys, path=dumps["custom"], deployed_at="2020-01-01T00:00:00Z",
                          require_predates_deployment=False)
    assert not failed and result["predates_deployment"] is False


@pytest.mark.parametrize("args, message", [
    ({}, "one of the following is required: path, backup_dir"),
    ({"path": "/x", "backup_dir": "/y"}, "mutually exclusive"),
    ({"backup_dir": "/does/not/exist"}, "is not a directory"),
    ({"path": "/x", "deployed_at": "2026-11-24 10:00"}, "has no time zone"),
    ({"path": "/x", "require_predates_deployment": "maybe"}, "require_predates_deployment"),
    ({"path": "/x", "verify_data": "thoroughly"}, "verify_data"),
    ({"path": "/x", "sha256": ["a", "b"]}, "sha256 must be 64 hexadecimal characters"),
    ({"path": "/x", "sha256": "abc"}, "sha256 must be 64 hexadecimal characters"),
])
def test_bad_input(capsys, args, message):
    result, failed = info(capsys, **args)
    assert failed and message in result["msg"]


def test_bad_pg_restore_path_is_named(capsys, dumps):
    result, failed = info(capsys, path=dumps["custom"], pg_restore_path="/bin/no-such-pg_restore")
    assert failed and "pg_restore_path /bin/no-such-pg_restore is not an executable" in result["msg"]


def test_pattern_matching_nothing_says_what_was_searched(capsys, dumps, tmp_path):
    bdir = tmp_path / "backups"
    bdir.mkdir()
    shutil.copy(dumps["custom"], str(bdir / "od_1.dump"))
    result, failed = info(capsys, backup_dir=str(bdir), pattern="other_*.sql")
    assert failed and "no backup matching 'other_*.sql' in %s" % bdir in result["msg"]


# --- read_migrations: the django_migrations rows of a backup ---------------------------------

# Rows as Django writes them, with values COPY text format must escape (tab, backslash, newline,
# a carriage return) and a non-ASCII name.
DJANGO_ROWS = [
    ("auth", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length"),
    ("contenttypes", "0001_initial"), ("channels", "0001_initial"), ("notifications", "0001_initial"),
    ("course_catalog", "0001_initial"), ("we\tird", "0001_back\\slash"), ("odd", "0002_new\nline\r"),
    ("odd", "0003_caf\u00e9"),
]
# A data line of another table that looks like the COPY header of django_migrations: it is data.
DECOY = "COPY public.django_migrations (id, app, name, applied) FROM stdin;"


def _pg_dump(pg_db, path, *args):
    pg_dump = os.path.join(pg_db["bin"], "pg_dump")
    subprocess.run([pg_dump, "-h", pg_db["host"], "-p", str(pg_db["port"]), "-U", pg_db["user"], pg_db["dbname"]]
                   + list(args) + ["-f", str(path)], check=True)
    return str(path)


def _django_db(pg_conn, rows=None):
    rows = DJANGO_ROWS if rows is None else rows
    with pg_conn.cursor() as cur:
        # Dumped before django_migrations (pg_dump orders table data by name).
        cur.execute("CREATE TABLE aaa_notes (note text)")
        cur.execute("INSERT INTO aaa_notes VALUES (%s), (%s), (%s)", (DECOY, "\\.", "a\tb\\c"))
        cur.execute("CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL, "
                    "name varchar(255) NOT NULL, applied timestamptz NOT NULL)")
        for app, name in rows:
            cur.execute("INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())", (app, name))
        cur.execute("CREATE TABLE zzz_after (id int)")
        cur.execute("INSERT INTO zzz_after VALUES (1)")


@pytest.fixture()
def django_dumps(pg_db, pg_conn, tmp_path):
    """pg_dump of a database with a django_migrations table, in every format; {name: path}."""
    _django_db(pg_conn)
    out = {}
    for name, args in (("plain", ["-Fp"]), ("custom", ["-Fc"]), ("tar", ["-Ft"]), ("directory", ["-Fd"])):
        out[name] = _pg_dump(pg_db, tmp_path / ("django." + name), *args)
    gz = str(tmp_path / "django.sql.gz")
    with open(out["plain"], "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    out["gzip"] = gz
    return out


EXPECTED_MIGRATIONS = [{"app": app, "name": name} for app, name in sorted(DJANGO_ROWS)]


@pytest.mark.parametrize("name", ["plain", "gzip", "custom", "tar", "directory"])
def test_read_migrations_in_every_format(capsys, django_dumps, name):
    result, failed = info(capsys, path=django_dumps[name], read_migrations=True)
    assert not failed, result
    assert result["migrations"] == EXPECTED_MIGRATIONS
    assert result["verified"] is True and result["changed"] is False


@pytest.mark.parametrize("name", ["plain", "gzip", "custom", "tar", "directory"])
def test_a_backup_without_django_migrations_gives_null(capsys, dumps, name):
    result, failed = info(capsys, path=dumps[name], read_migrations=True)
    assert not failed, result
    assert result["migrations"] is None


def test_migrations_are_not_read_unless_asked(capsys, django_dumps):
    result, failed = info(capsys, path=django_dumps["custom"])
    assert not failed and "migrations" not in result


def test_the_reader_keeps_dump_order_and_finds_qualified_names(django_dumps, pg_db):
    pg_restore = os.path.join(pg_db["bin"], "pg_restore")
    for name in ("plain", "gzip", "custom", "directory"):
        path = django_dumps[name]
        assert backup_utils.read_django_migrations(path, pg_restore) == DJANGO_ROWS, name
        assert backup_utils.read_django_migrations(path, pg_restore, "public.django_migrations") == DJANGO_ROWS
        assert backup_utils.read_django_migrations(path, pg_restore, "tenant.django_migrations") is None
    # The COPY header as pg_dump writes it: schema-qualified.
    assert b"COPY public.django_migrations (id, app, name, applied) FROM stdin;\n" in open(
        django_dumps["plain"], "rb").read()


@pytest.mark.parametrize("name", ["plain", "custom"])
def test_a_table_without_app_and_name_columns_is_an_error(django_dumps, name):
    with pytest.raises(backup_utils.BackupError, match="the COPY of zzz_after has no app and name columns"):
        backup_utils.read_django_migrations(django_dumps[name], table="zzz_after")


def test_django_migrations_in_another_schema(pg_db, pg_conn, tmp_path):
    with pg_conn.cursor() as cur:
        cur.execute('CREATE SCHEMA "Tenant One"')
        cur.execute('CREATE TABLE "Tenant One".django_migrations (id serial, app text, name text, applied timestamptz)')
        cur.execute('''INSERT INTO "Tenant One".django_migrations (app, name, applied) VALUES ('auth', '0001_initial', now())''')
    plain = _pg_dump(pg_db, tmp_path / "tenant.sql", "-Fp")
    custom = _pg_dump(pg_db, tmp_path / "tenant.dump", "-Fc")
    assert b'COPY "Tenant One".django_migrations' in open(plain, "rb").read()
    for path in (plain, custom):
        assert backup_utils.read_django_migrations(path) == [("auth", "0001_initial")]
        assert backup_utils.read_django_migrations(path, table="Tenant One.django_migrations") == [
            ("auth", "0001_initial")]
        assert backup_utils.read_django_migrations(path, table="public.django_migrations") is None


def test_an_empty_django_migrations_table_is_an_empty_list(pg_db, pg_conn, tmp_path):
    _django_db(pg_conn, rows=[])
    for fmt in ("-Fp", "-Fc"):
        path = _pg_dump(pg_db, tmp_path / ("empty" + fmt), fmt)
        assert backup_utils.read_django_migrations(path) == []


def test_copy_text_unescaping():
    unescape = backup_utils.unescape_copy
    assert unescape(b"\\N") is None
    assert unescape(b"plain") == b"plain"
    assert unescape(b"a\\tb\\nc\\\\d\\re\\bf\\fg\\vh") == b"a\tb\nc\\d\re\bf\fg\vh"
    assert unescape(b"\\101\\1x\\0123") == b"A\x01x\n3"
    assert unescape(b"\\x41\\x4x\\xg") == b"A\x04xxg"
    assert unescape(b"\\.\\N") == b".N"


def test_an_inserts_dump_is_refused_with_the_reason(pg_db, pg_conn, tmp_path):
    _django_db(pg_conn)
    path = _pg_dump(pg_db, tmp_path / "inserts.sql", "-Fp", "--inserts")
    with pytest.raises(backup_utils.BackupError, match="as INSERT statements"):
        backup_utils.read_django_migrations(path)


def test_a_dump_cut_inside_the_block_is_an_error(capsys, django_dumps, tmp_path):
    data = open(django_dumps["plain"], "rb").read()
    cut = tmp_path / "cut.sql"
    cut.write_bytes(data[: data.index(b"0001_back")])
    with pytest.raises(backup_utils.BackupError, match="ends inside the data of django_migrations"):
        backup_utils.read_django_migrations(str(cut))
    # The module verifies the trailer first: the cut dump is refused before it is read.
    result, failed = info(capsys, path=str(cut), read_migrations=True)
    assert failed and "is truncated" in result["msg"]


def test_a_damaged_archive_is_an_error(django_dumps, tmp_path):
    bad = tmp_path / "bad.dump"
    data = bytearray(open(django_dumps["custom"], "rb").read())
    data[5:400] = os.urandom(395)
    bad.write_bytes(bytes(data))
    with pytest.raises(backup_utils.BackupError, match="pg_restore could not read the data of django_migrations"):
        backup_utils.read_django_migrations(str(bad))


def test_reading_a_plain_dump_streams_it(pg_db, pg_conn, tmp_path):
    """A 24 MB row of another table (one line) before django_migrations is never held whole."""
    _django_db(pg_conn)
    with pg_conn.cursor() as cur:
        cur.execute("CREATE TABLE aab_blob (data text)")
        cur.execute("INSERT INTO aab_blob SELECT string_agg(md5(g::text), '') FROM generate_series(1, 750000) g")
    plain = _pg_dump(pg_db, tmp_path / "big.sql", "-Fp")
    gz = str(tmp_path / "big.sql.gz")
    with open(plain, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    data = open(plain, "rb").read()
    assert data.index(b"COPY public.aab_blob") < data.rindex(b"COPY public.django_migrations")
    del data
    for path in (plain, gz):
        tracemalloc.start()
        try:
            rows = backup_utils.read_django_migrations(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert rows == DJANGO_ROWS
        assert peak < 4 * 1024 * 1024, "reading %s took %d bytes" % (path, peak)


def test_read_migrations_applies_to_the_chosen_backup(capsys, pg_db, pg_conn, tmp_path):
    bdir = tmp_path / "backups"
    bdir.mkdir()
    _django_db(pg_conn, rows=[("notifications", "0001_initial")])
    before = _pg_dump(pg_db, bdir / "od_1.dump", "-Fc")
    with pg_conn.cursor() as cur:
        cur.execute("INSERT INTO django_migrations (app, name, applied) "
                    "VALUES ('notifications', '0002_remove_channels', now())")
    after = _pg_dump(pg_db, bdir / "od_2.dump", "-Fc")
    now = time.time()
    _at(before, now - 7200)
    _at(after, now - 600)
    result, failed = info(capsys, backup_dir=str(bdir), deployed_at=str(int(now - 1800)), read_migrations=True)
    assert not failed, result
    assert result["path"] == before
    assert result["migrations"] == [{"app": "notifications", "name": "0001_initial"}]
    result, failed = info(capsys, path=after, read_migrations=True)
    assert not failed and [m["name"] for m in result["migrations"]] == ["0001_initial", "0002_remove_channels"]


def test_read_migrations_is_a_bool(capsys, django_dumps):
    result, failed = info(capsys, path=django_dumps["plain"], read_migrations="sometimes")
    assert failed and "read_migrations" in result["msg"]
