"""log_scan against real log files in the formats the application's programs write."""
from __future__ import annotations

import os

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import log_scan
from module_runner import run_module

SINCE = "2026-11-24T10:00:00Z"

DJANGO = """2026-11-24 09:58:01,100 INFO django.server started
2026-11-24 09:59:59,999 ERROR django.request Internal Server Error: /c/general/ (before the rollback)
Traceback (most recent call last):
  File "x.py", line 1, in view
KeyError: 'ERROR in a traceback line of the old error'
2026-11-24 10:00:00,000 INFO django.server rolled back
2026-11-24 10:03:12,311 ERROR django.request Internal Server Error: /api/v0/search/
Traceback (most recent call last):
ValueError: ERROR repeated in the traceback of the new error
"""

GUNICORN = """[2026-11-24 11:00:01 +0100] [12] [ERROR] Worker timeout before the rollback (10:00:01Z is after!)
[2026-11-24 10:59:59 +0100] [12] [ERROR] Exception in worker process (09:59:59Z)
"""

CELERY = """[2026-11-24 10:01:00,123: ERROR/MainProcess] consumer: Cannot connect to redis://127.0.0.1:6379/0
[2026-11-24 10:01:05,000: INFO/MainProcess] Connected to redis://127.0.0.1:6379/0
"""


@pytest.fixture()
def logs(tmp_path):
    out = {}
    for name, text in (("web.log", DJANGO), ("gunicorn.log", GUNICORN), ("celery_worker.log", CELERY)):
        path = tmp_path / name
        path.write_text(text)
        out[name] = str(path)
    return out


def scan(capsys, **args):
    args.setdefault("since", SINCE)
    return run_module(log_scan, args, capsys)


def test_only_error_lines_since_the_rollback_count_with_their_tracebacks(capsys, logs):
    result, failed = scan(capsys, files=[logs["web.log"]])
    assert not failed, result
    # The new error and the ERROR in its traceback (same time); the old error and its traceback do not count.
    assert result["count"] == 2
    assert [m["line_number"] for m in result["matches"]] == [7, 9]
    assert result["matches"][0]["time"] == "2026-11-24T10:03:12Z"
    assert result["matches"][0]["file"] == logs["web.log"]


def test_zones_written_in_the_line_are_honoured(capsys, logs):
    result, failed = scan(capsys, files=[logs["gunicorn.log"]])
    assert not failed
    assert result["count"] == 1 and result["matches"][0]["time"] == "2026-11-24T10:00:01Z"


def test_times_without_zone_use_the_default_offset(capsys, logs):
    result, failed = scan(capsys, files=[logs["celery_worker.log"]], default_timezone_offset="+02:00")
    assert not failed
    # 10:01 at +02:00 is 08:01Z, before the rollback.
    assert result["count"] == 0
    result, failed = scan(capsys, files=[logs["celery_worker.log"]])
    assert result["count"] == 1 and "Cannot connect to redis" in result["matches"][0]["line"]


def test_max_matches_fails_with_the_first_line_quoted(capsys, logs):
    result, failed = scan(capsys, files=list(logs.values()), max_matches=0)
    assert failed
    assert result["count"] == 4
    assert result["msg"].startswith("4 line(s) matching")
    assert "%s: 2" % logs["web.log"] in result["msg"]
    assert "first: %s:7 2026-11-24 10:03:12,311 ERROR" % logs["web.log"] in result["msg"]


def test_max_matches_not_exceeded_passes(capsys, logs):
    result, failed = scan(capsys, files=[logs["celery_worker.log"]], max_matches=1)
    assert not failed and result["count"] == 1


def test_a_clean_log_since_the_rollback_passes(capsys, logs):
    result, failed = scan(capsys, files=list(logs.values()), since="2026-11-24T12:00:00+01:00", max_matches=0)
    assert not failed, result["msg"] if failed else result
    assert result["count"] == 0 and result["matches"] == []


def test_matches_before_any_dated_line_are_undated_not_counted(capsys, tmp_path):
    path = tmp_path / "odd.log"
    path.write_text("ERROR without a time\n2026-11-24 10:05:00 ERROR with a time\n")
    result, failed = scan(capsys, files=[str(path)])
    assert not failed and result["count"] == 1 and result["undated"] == 1


def test_report_limit_caps_the_lines_not_the_count(capsys, tmp_path):
    path = tmp_path / "many.log"
    path.write_text("".join("2026-11-24 10:%02d:00 ERROR number %d\n" % (i, i) for i in range(50)))
    result, failed = scan(capsys, files=[str(path)], report_limit=3)
    assert not failed and result["count"] == 50 and len(result["matches"]) == 3


def test_a_missing_log_is_named_unless_missing_ok(capsys, logs, tmp_path):
    missing = str(tmp_path / "nope.log")
    result, failed = scan(capsys, files=[logs["web.log"], missing])
    assert failed and "log file %s does not exist" % missing in result["msg"] and "missing_ok" in result["msg"]
    result, failed = scan(capsys, files=[logs["web.log"], missing], missing_ok=True)
    assert not failed and result["missing"] == [missing] and result["count"] == 2


def test_an_unreadable_path_is_not_taken_for_missing(capsys, tmp_path):
    result, failed = scan(capsys, files=[str(tmp_path)], missing_ok=True)
    assert failed and "cannot read log file %s" % tmp_path in result["msg"]


@pytest.mark.parametrize("args, message", [
    ({"files": ["/x"], "since": "2026-11-24 10:00"}, "has no time zone"),
    ({"files": ["/x"], "pattern": "ERROR("}, "is not a valid regular expression"),
    ({"files": ["/x"], "default_timezone_offset": "CET"}, "is not an offset like +00:00"),
    ({"files": ["/x"], "default_timezone_offset": "+25:00"}, "is not an offset like +00:00"),
    ({"files": ["/x"], "report_limit": -1}, "report_limit must be 0 or more"),
    ({"files": "/x", "max_matches": "many"}, "max_matches"),
    ({"since": SINCE}, "missing required arguments: files"),
])
def test_bad_input(capsys, args, message):
    if "files" in args:
        args = dict({"since": SINCE}, **args)
    result, failed = run_module(log_scan, args, capsys)
    assert failed and message in result["msg"], result["msg"]


def test_large_logs_are_streamed(capsys, tmp_path):
    path = tmp_path / "big.log"
    with open(path, "w") as out:
        line = "2026-11-24 09:00:00 INFO " + "x" * 200 + "\n"
        for _index in range(200000):
            out.write(line)
        out.write("2026-11-24 10:30:00 ERROR the one\n")
    assert os.path.getsize(path) > 40 * 1024 * 1024
    result, failed = scan(capsys, files=[str(path)])
    assert not failed and result["count"] == 1 and result["matches"][0]["line_number"] == 200001
