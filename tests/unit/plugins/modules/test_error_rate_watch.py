"""error_rate_watch against a real HTTP server and real log files written during the watch."""
from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import error_rate_watch
from module_runner import run_module


class Site:
    """A local HTTP server whose answers the test controls: a list of statuses, the last repeated."""

    def __init__(self) -> None:
        self.statuses = [200]
        self.hits = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                status = site.statuses[min(site.hits, len(site.statuses) - 1)]
                site.hits += 1
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok\n" if status == 200 else b"boom\n")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/healthz" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def site():
    server = Site()
    yield server
    server.close()


def watch(capsys, **args):
    args.setdefault("duration", 1.0)
    args.setdefault("interval", 0.2)
    return run_module(error_rate_watch, args, capsys)


def test_a_healthy_site_passes(capsys, site):
    result, failed = watch(capsys, urls=[site.url])
    assert not failed, result
    assert result["healthy"] is True and result["failures"] == 0 and result["error_rate"] == 0
    assert 4 <= result["probes"] <= 7 and site.hits == result["probes"]
    assert 0.9 <= result["duration_seconds"] <= 3


def test_rising_failures_fail_with_the_rate_and_the_first_failure(capsys, site):
    site.statuses = [200, 200, 502]
    result, failed = watch(capsys, urls=[site.url])
    assert failed and result["healthy"] is False
    assert result["failures"] == result["probes"] - 2
    rate = "error rate %.1f%% (%d of %d probes)" % (result["error_rate"] * 100, result["failures"], result["probes"])
    assert rate in result["msg"]
    assert "first failure: %s status 502" % site.url in result["msg"]
    assert [s["status"] for s in result["samples"] if not s["ok"]] == [502] * result["failures"]


def test_failures_within_the_allowed_rate_pass(capsys, site):
    site.statuses = [500, 200]
    result, failed = watch(capsys, urls=[site.url], max_error_rate=0.5)
    assert not failed, result["msg"] if failed else result
    assert result["failures"] == 1 and result["healthy"] is True


def test_connection_refused_counts_as_a_failure(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, failed = watch(capsys, urls=["http://127.0.0.1:%d/" % port], duration=0.4)
    assert failed and result["failures"] == result["probes"] > 0
    assert "Connection refused" in result["samples"][0]["error"]


def test_only_error_lines_written_during_the_watch_count(capsys, site, tmp_path):
    log = tmp_path / "web.log"
    log.write_text("2026-11-24 09:00:00 ERROR before the watch\n")

    def write_later():
        time.sleep(0.4)
        with open(log, "a") as out:
            out.write("2026-11-24 10:00:00 INFO fine\n2026-11-24 10:00:01 ERROR during the watch\n")

    writer = threading.Thread(target=write_later)
    writer.start()
    result, failed = watch(capsys, urls=[site.url], log_files=[str(log)])
    writer.join()
    assert failed and result["log_errors"] == 1
    assert result["log_error_lines"] == ["%s: 2026-11-24 10:00:01 ERROR during the watch" % log]
    assert "1 new line(s) matching" in result["msg"] and "(0 allowed)" in result["msg"]


def test_a_quiet_log_passes_even_with_old_errors(capsys, site, tmp_path):
    log = tmp_path / "web.log"
    log.write_text("2026-11-24 09:00:00 ERROR before the watch\n" * 50)
    result, failed = watch(capsys, urls=[site.url], log_files=[str(log)])
    assert not failed and result["log_errors"] == 0


def test_a_log_truncated_during_the_watch_is_read_again(capsys, site, tmp_path):
    log = tmp_path / "web.log"
    log.write_text("old line\n" * 100)

    def rotate():
        time.sleep(0.3)
        with open(log, "w") as out:
            out.write("2026-11-24 10:00:01 ERROR after the rotation\n")

    rotator = threading.Thread(target=rotate)
    rotator.start()
    result, failed = watch(capsys, urls=[site.url], log_files=[str(log)], max_log_errors=5)
    rotator.join()
    assert not failed and result["log_errors"] == 1


def test_fail_fast_stops_early(capsys, site):
    site.statuses = [503]
    started = time.monotonic()
    result, failed = watch(capsys, urls=[site.url], duration=5, interval=0.2, fail_fast=True)
    assert failed and result["stopped_early"] is True
    assert time.monotonic() - started < 2
    # 5% of the 25 planned probes allows 1.25 failures: the second failure ends the watch.
    assert result["probes"] == 2


def test_check_mode_does_not_watch(capsys, site):
    result, failed = run_module(error_rate_watch, {"urls": [site.url], "duration": 30, "_ansible_check_mode": True},
                                capsys)
    assert not failed and result["healthy"] is None and "not run" in result["msg"]
    assert site.hits == 0


def test_a_missing_log_file_fails_before_watching(capsys, site, tmp_path):
    missing = str(tmp_path / "nope.log")
    result, failed = watch(capsys, urls=[site.url], log_files=[missing])
    assert failed and "log file %s does not exist" % missing in result["msg"] and "log_files" in result["msg"]
    assert site.hits == 0


@pytest.mark.parametrize("args, message", [
    ({"urls": []}, "urls is empty"),
    ({"interval": 0}, "interval must be more than 0"),
    ({"duration": 1, "interval": 5}, "must be at least one interval"),
    ({"max_error_rate": 5}, "max_error_rate is a fraction between 0 and 1"),
    ({"max_log_errors": -1}, "max_log_errors must be 0 or more"),
    ({"log_pattern": "ERROR("}, "is not a valid regular expression"),
    ({"duration": "soon"}, "duration"),
])
def test_bad_input(capsys, args, message):
    args = dict({"urls": ["http://127.0.0.1:9/"]}, **args)
    result, failed = run_module(error_rate_watch, args, capsys)
    assert failed and message in result["msg"], result["msg"]
