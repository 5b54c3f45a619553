"""pg_backup_info against real pg_dump output of a real database."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import time

import pytest

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
