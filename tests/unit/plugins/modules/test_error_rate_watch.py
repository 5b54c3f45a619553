"""error_rate_watch against a real HTTP server and real log files written during the watch."""
from __future__ import annotations

import http.server
import re
import socket
import threading
import time

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import error_rate
from ansible_collections.runbooks.rollback.plugins.modules import error_rate_watch
from module_runner import run_module


class Site:
    """A local HTTP server whose answers the test controls: a list of statuses, the last repeated, and
    a list of delays (seconds slept before answering), the last repeated."""

    def __init__(self) -> None:
        self.statuses = [200]
        self.delays = [0.0]
        self.hits = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                status = site.statuses[min(site.hits, len(site.statuses) - 1)]
                delay = site.delays[min(site.hits, len(site.delays) - 1)]
                site.hits += 1
                time.sleep(delay)
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


ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_response_times_are_reported_and_never_fail_without_limits(capsys, site):
    site.delays = [0.05]
    result, failed = watch(capsys, urls=[site.url])
    assert not failed, result["msg"] if failed else result
    assert result["healthy"] is True
    ms = result["response_ms"]
    assert set(ms) == {"median", "p95", "max", "min"}
    assert 50 <= ms["min"] <= ms["median"] <= ms["p95"] <= ms["max"] < 2000, ms
    # Every existing key is still there.
    assert {"probes", "failures", "error_rate", "samples", "log_errors", "log_error_lines", "duration_seconds",
            "stopped_early", "healthy"} <= set(result)
    trend = result["trend"]
    assert len(trend) == result["probes"], trend  # one URL: one probe per round
    assert all(set(entry) == {"at", "failures", "probes", "median_ms"} for entry in trend)
    assert all(ISO_UTC.match(entry["at"]) for entry in trend), trend
    assert [entry["at"] for entry in trend] == sorted(entry["at"] for entry in trend)
    assert all(entry["probes"] == 1 and entry["failures"] == 0 and entry["median_ms"] >= 50 for entry in trend)


def test_a_slow_site_passes_when_no_limit_is_set_even_with_fail_fast(capsys, site):
    site.delays = [0.3]
    result, failed = watch(capsys, urls=[site.url], fail_fast=True)
    assert not failed and result["healthy"] is True
    assert result["response_ms"]["median"] >= 300


def test_the_median_limit_fails_naming_the_limit_and_the_value(capsys, site):
    site.delays = [0.1]
    result, failed = watch(capsys, urls=[site.url], max_median_ms=20)
    assert failed and result["healthy"] is False
    median = result["response_ms"]["median"]
    assert median >= 100
    assert "median %.1f ms is above the 20 ms allowed (max_median_ms)" % median in result["msg"], result["msg"]
    assert "max_p95_ms" not in result["msg"] and "error rate" not in result["msg"]
    assert "slowest probe: %s" % site.url in result["msg"]
    assert result["failures"] == 0 and result["response_ms"]["p95"] >= median


def test_the_p95_limit_fails_on_a_slow_tail(capsys, site):
    # One slow answer in about six: the median stays fast, the nearest-rank p95 is the slow one.
    site.delays = [0.0, 0.0, 0.25, 0.0]
    result, failed = watch(capsys, urls=[site.url], max_median_ms=150, max_p95_ms=150)
    assert failed and result["healthy"] is False
    ms = result["response_ms"]
    assert ms["median"] < 150 <= 250 <= ms["p95"] == ms["max"], ms
    assert "p95 %.1f ms is above the 150 ms allowed (max_p95_ms)" % ms["p95"] in result["msg"], result["msg"]
    assert "max_median_ms" not in result["msg"]
    slowest = max((s for s in result["samples"] if s["status"]), key=lambda s: s["elapsed_ms"])
    assert slowest["elapsed_ms"] >= 250, result["samples"]


def test_every_limit_exceeded_is_named_in_one_message(capsys, site):
    site.statuses = [200, 503]
    site.delays = [0.1]
    result, failed = watch(capsys, urls=[site.url], max_median_ms=10, max_p95_ms=50)
    assert failed
    msg = result["msg"]
    assert "error rate" in msg and "(max_median_ms)" in msg and "(max_p95_ms)" in msg, msg
    assert msg.count("The site is not healthy") == 1


def test_limits_that_hold_pass(capsys, site):
    site.delays = [0.02]
    result, failed = watch(capsys, urls=[site.url], max_median_ms=2000, max_p95_ms=2000.5)
    assert not failed, result["msg"] if failed else result
    assert result["healthy"] is True and result["response_ms"]["p95"] >= 20


def test_fail_fast_judges_response_times_at_the_end_only(capsys, site):
    site.delays = [0.05]
    result, failed = watch(capsys, urls=[site.url], fail_fast=True, max_median_ms=1)
    assert failed and result["stopped_early"] is False and result["probes"] >= 4
    assert "(max_median_ms)" in result["msg"]


def test_answers_with_an_error_status_are_timed_but_a_refused_connection_is_not(capsys, site):
    site.statuses = [500]
    result, failed = watch(capsys, urls=[site.url], max_error_rate=1)
    assert not failed and result["response_ms"]["median"] is not None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, failed = watch(capsys, urls=["http://127.0.0.1:%d/" % port], duration=0.4, max_error_rate=1)
    assert not failed, result["msg"] if failed else result
    assert result["response_ms"] == {"median": None, "p95": None, "max": None, "min": None}
    assert all(entry["median_ms"] is None for entry in result["trend"])
    # With a response time limit, a site that never answered is not healthy.
    result, failed = watch(capsys, urls=["http://127.0.0.1:%d/" % port], duration=0.4, max_error_rate=1,
                           max_p95_ms=500)
    assert failed and "no probe got an HTTP answer" in result["msg"] and "(max_p95_ms)" in result["msg"]


def test_the_trend_stays_bounded(capsys, site, monkeypatch):
    monkeypatch.setattr(error_rate, "TREND_MAX", 4)
    result, failed = watch(capsys, urls=[site.url, site.url], duration=1.0, interval=0.1)
    assert not failed
    trend = result["trend"]
    assert result["probes"] >= 10 and 2 <= len(trend) <= 4, trend
    assert sum(entry["probes"] for entry in trend) == result["probes"]


def test_the_trend_merges_neighbours_past_its_limit_and_keeps_the_whole_span():
    trend = error_rate.Trend()
    for number in range(1000):
        trend.add("t%04d" % number, number % 2, 2, [float(number)] * (2 - number % 2))
    entries = trend.result()
    assert 100 <= len(entries) <= error_rate.TREND_MAX == 200
    assert entries[0]["at"] == "t0000" and sum(e["probes"] for e in entries) == 2000
    assert sum(e["failures"] for e in entries) == 500
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)


@pytest.mark.parametrize("values, expected", [
    ([], {"median": None, "p95": None, "max": None, "min": None}),
    ([7.0], {"median": 7.0, "p95": 7.0, "max": 7.0, "min": 7.0}),
    ([4.0, 1.0, 3.0, 2.0], {"median": 2.5, "p95": 4.0, "max": 4.0, "min": 1.0}),
    ([float(n) for n in range(1, 101)], {"median": 50.5, "p95": 95.0, "max": 100.0, "min": 1.0}),
    ([float(n) for n in range(20, 0, -1)], {"median": 10.5, "p95": 19.0, "max": 20.0, "min": 1.0}),
])
def test_response_times_use_the_nearest_rank_percentile(values, expected):
    assert error_rate.response_times(values) == expected


@pytest.mark.parametrize("args, message", [
    ({"max_median_ms": -1}, "max_median_ms is a response time in milliseconds, 0 or more"),
    ({"max_p95_ms": -0.5}, "max_p95_ms is a response time in milliseconds, 0 or more"),
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
