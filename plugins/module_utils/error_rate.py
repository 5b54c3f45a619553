# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch a site after a rollback: probe URLs at an interval, time their answers, count new error lines in logs."""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
import math
import os
import re
import time
from typing import Any, Callable, Dict, List, Optional

from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import Request, make_context

FIRST_LINES = 20
OK_SAMPLES_KEPT = 5
# At most this many entries in the trend: past it, neighbouring entries are merged two by two
# (each entry then covers twice as many rounds), so a long watch keeps its whole span.
TREND_MAX = 200
LIMITS_MS = ("max_median_ms", "max_p95_ms")


class WatchError(Exception):
    """The watch cannot start; the message names the option and the fix."""


class LogFollower(object):
    """New lines of a log file since the watch started; a truncated/rotated file is read again."""

    def __init__(self, path: str, pattern: "re.Pattern[str]") -> None:
        if not os.path.isfile(path):
            raise WatchError("log file %s does not exist; fix log_files (the runbook's paths are defaults)" % path)
        self.path = path
        self.pattern = pattern
        self.offset = os.path.getsize(path)
        self.partial = b""
        self.count = 0
        self.lines: List[str] = []

    def poll(self) -> None:
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return  # rotated away; the next poll sees the new file
        if size < self.offset:
            self.offset, self.partial = 0, b""
        if size == self.offset:
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        self.offset += len(data)
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        for raw in chunks:
            line = raw.decode("utf-8", "replace")
            if self.pattern.search(line):
                self.count += 1
                if len(self.lines) < FIRST_LINES:
                    self.lines.append("%s: %s" % (self.path, line[:500]))


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def probe(url: str, timeout: float, expected: List[int], validate_certs: bool,
          headers: Dict[str, str], context: Any = None) -> Dict[str, Any]:
    """One request; its sample, and in ``response_ms`` (not returned) the milliseconds until the
    status line and headers arrived, None when no HTTP answer came (connection error, timeout).

    ``context`` is the TLS context built once for the watch: built for each request, loading the CA
    store would add some 20 ms to every measured time, to plain HTTP URLs too."""
    if context is None:
        context = make_context(validate_certs=validate_certs)
    started = time.monotonic()
    status = None
    error = None
    try:
        with Request().open("GET", url, headers=headers, timeout=timeout, validate_certs=validate_certs,
                            follow_redirects="none", context=context) as response:
            status = response.status
    except HTTPError as exc:
        status = exc.code
    except (URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))
    elapsed = (time.monotonic() - started) * 1000.0
    ok = status in expected
    if status is not None and not ok:
        error = "status %d" % status
    return {"at": _utc_now(), "url": url, "status": status, "ok": ok, "error": error,
            "elapsed_ms": int(elapsed), "response_ms": elapsed if status is not None else None}


def _median(values: List[float]) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def _ms(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def response_times(values: List[float]) -> Dict[str, Optional[float]]:
    """Median, nearest-rank 95th percentile, max and min of the answered probes' milliseconds
    (each None when no probe got an answer)."""
    if not values:
        return {"median": None, "p95": None, "max": None, "min": None}
    ordered = sorted(values)
    rank = max(1, int(math.ceil(0.95 * len(ordered))))
    return {"median": _ms(_median(ordered)), "p95": _ms(ordered[rank - 1]), "max": _ms(ordered[-1]),
            "min": _ms(ordered[0])}


class Trend(object):
    """One entry per round of probes (at most TREND_MAX, merging neighbours two by two past it)."""

    def __init__(self, limit: Optional[int] = None) -> None:
        self.limit = limit or TREND_MAX
        self.rounds_per_entry = 1
        self.entries: List[Dict[str, Any]] = []

    def add(self, at: str, failures: int, probes: int, answered_ms: List[float]) -> None:
        last = self.entries[-1] if self.entries else None
        if last is not None and last["rounds"] < self.rounds_per_entry:
            last["rounds"] += 1
            last["failures"] += failures
            last["probes"] += probes
            last["ms"].extend(answered_ms)
        else:
            self.entries.append({"at": at, "rounds": 1, "failures": failures, "probes": probes,
                                 "ms": list(answered_ms)})
        if len(self.entries) > self.limit:
            merged = []
            for first, second in zip(self.entries[::2], self.entries[1::2] + [None]):
                if second is not None:
                    first = {"at": first["at"], "rounds": first["rounds"] + second["rounds"],
                             "failures": first["failures"] + second["failures"],
                             "probes": first["probes"] + second["probes"], "ms": first["ms"] + second["ms"]}
                merged.append(first)
            self.entries = merged
            self.rounds_per_entry *= 2

    def result(self) -> List[Dict[str, Any]]:
        return [{"at": e["at"], "failures": e["failures"], "probes": e["probes"], "median_ms": _ms(_median(e["ms"]))}
                for e in self.entries]


def check_params(params: Dict[str, Any]) -> "re.Pattern[str]":
    if not params["urls"]:
        raise WatchError("urls is empty: give at least one URL to probe (e.g. http://127.0.0.1/healthz)")
    if params["interval"] <= 0:
        raise WatchError("interval must be more than 0 seconds, got %s" % params["interval"])
    if params["duration"] < params["interval"]:
        raise WatchError("duration (%s s) must be at least one interval (%s s)" % (params["duration"], params["interval"]))
    if not 0 <= params["max_error_rate"] <= 1:
        raise WatchError("max_error_rate is a fraction between 0 and 1 (0.05 = 5%%), got %s" % params["max_error_rate"])
    if params["max_log_errors"] < 0:
        raise WatchError("max_log_errors must be 0 or more, got %s" % params["max_log_errors"])
    for name in LIMITS_MS:
        limit = params.get(name)
        if limit is not None and (math.isnan(limit) or limit < 0):
            raise WatchError("%s is a response time in milliseconds, 0 or more (leave it unset for no limit), got %s"
                             % (name, limit))
    try:
        return re.compile(params["log_pattern"])
    except re.error as exc:
        raise WatchError("log_pattern %r is not a valid regular expression: %s" % (params["log_pattern"], exc))


def watch(params: Dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> Dict[str, Any]:
    """Probe every URL each interval for duration seconds; return the counts, the response times and
    the trend, and whether every limit held."""
    pattern = check_params(params)
    followers = [LogFollower(path, pattern) for path in params["log_files"]]
    started = time.monotonic()
    deadline = started + params["duration"]
    context = make_context(validate_certs=params["validate_certs"])
    samples: List[Dict[str, Any]] = []
    answered: List[float] = []
    trend = Trend()
    probes = failures = 0
    total_planned = max(1, int(params["duration"] // params["interval"])) * len(params["urls"])
    allowed_failures = params["max_error_rate"] * total_planned
    stopped_early = False
    while True:
        round_started = time.monotonic()
        round_at = _utc_now()
        round_failures = 0
        round_ms: List[float] = []
        for url in params["urls"]:
            sample = probe(url, params["timeout"], params["expected_status"], params["validate_certs"],
                           params["headers"], context)
            elapsed = sample.pop("response_ms")
            if elapsed is not None:
                round_ms.append(elapsed)
            probes += 1
            round_failures += 0 if sample["ok"] else 1
            samples.append(sample)
        failures += round_failures
        answered.extend(round_ms)
        trend.add(round_at, round_failures, len(params["urls"]), round_ms)
        for follower in followers:
            follower.poll()
        # Only the error rate and the error lines stop the watch early: response times are judged at the end.
        if params["fail_fast"] and (failures > allowed_failures
                                    or sum(f.count for f in followers) > params["max_log_errors"]):
            stopped_early = True
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sleep(max(0.0, min(params["interval"] - (time.monotonic() - round_started), remaining)))
        if time.monotonic() >= deadline:
            break
    for follower in followers:
        follower.poll()
    failed = [s for s in samples if not s["ok"]]
    last_ok = [s for s in samples if s["ok"]][-OK_SAMPLES_KEPT:]
    slowest = max((s for s in samples if s["status"] is not None), key=lambda s: s["elapsed_ms"], default=None)
    kept = failed + last_ok + ([slowest] if slowest is not None and not any(s is slowest for s in failed + last_ok)
                               else [])
    kept.sort(key=lambda s: s["at"])
    log_errors = sum(f.count for f in followers)
    rate = float(failures) / probes if probes else 0.0
    result = {"probes": probes, "failures": failures, "error_rate": round(rate, 4), "samples": kept,
              "log_errors": log_errors, "log_error_lines": [line for f in followers for line in f.lines][:FIRST_LINES],
              "duration_seconds": round(time.monotonic() - started, 1), "stopped_early": stopped_early,
              "response_ms": response_times(answered), "trend": trend.result()}
    result["healthy"] = not problems(result, params)
    return result


def _response_time_problem(result: Dict[str, Any], params: Dict[str, Any]) -> Optional[str]:
    limits = [(name, label, params.get(name)) for name, label in zip(LIMITS_MS, ("median", "p95"))
              if params.get(name) is not None]
    if not limits:
        return None
    measured = result["response_ms"]
    if measured["median"] is None:
        return ("no probe got an HTTP answer, so the response times cannot be held to %s"
                % " and ".join("the %s limit of %g ms (%s)" % (label, limit, name) for name, label, limit in limits))
    over = ["%s %.1f ms is above the %g ms allowed (%s)" % (label, measured[label], limit, name)
            for name, label, limit in limits if measured[label] > limit]
    if not over:
        return None
    slowest = max((s for s in result["samples"] if s["status"] is not None), key=lambda s: s["elapsed_ms"])
    return ("response times are too slow: %s; slowest probe: %s %d ms at %s"
            % (", ".join(over), slowest["url"], slowest["elapsed_ms"], slowest["at"]))


def problems(result: Dict[str, Any], params: Dict[str, Any]) -> List[str]:
    """What exceeded its limit, one phrase each; a response time limit left unset (None) never fails."""
    found = []
    if result["probes"] and float(result["failures"]) / result["probes"] > params["max_error_rate"]:
        first = next(s for s in result["samples"] if not s["ok"])
        found.append("error rate %.1f%% (%d of %d probes) over %.0f s is above the %.1f%% allowed; first failure: "
                     "%s %s at %s" % (result["error_rate"] * 100, result["failures"], result["probes"],
                                      result["duration_seconds"], params["max_error_rate"] * 100, first["url"],
                                      first["error"], first["at"]))
    if result["log_errors"] > params["max_log_errors"]:
        found.append("%d new line(s) matching %r in the logs during the watch (%d allowed): %s"
                     % (result["log_errors"], params["log_pattern"], params["max_log_errors"],
                        result["log_error_lines"][0] if result["log_error_lines"] else ""))
    slow = _response_time_problem(result, params)
    if slow:
        found.append(slow)
    return found


def verdict(result: Dict[str, Any], params: Dict[str, Any]) -> Optional[str]:
    """The failure message for an unhealthy watch, naming every limit exceeded, or None."""
    found = problems(result, params)
    if not found:
        return None
    return "; ".join(found) + ". The site is not healthy after the rollback: read the web and worker logs."
