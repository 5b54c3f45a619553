# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch a site after a rollback: probe URLs at an interval, count new error lines in logs."""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
import os
import re
import time
from typing import Any, Callable, Dict, List, Optional

from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

FIRST_LINES = 20
OK_SAMPLES_KEPT = 5


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


def probe(url: str, timeout: float, expected: List[int], validate_certs: bool,
          headers: Dict[str, str]) -> Dict[str, Any]:
    started = time.monotonic()
    status = None
    error = None
    try:
        with open_url(url, headers=headers, timeout=timeout, validate_certs=validate_certs,
                      follow_redirects="none") as response:
            status = response.status
    except HTTPError as exc:
        status = exc.code
    except (URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))
    ok = status in expected
    if status is not None and not ok:
        error = "status %d" % status
    return {"at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "url": url,
            "status": status, "ok": ok, "error": error,
            "elapsed_ms": int((time.monotonic() - started) * 1000)}


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
    try:
        return re.compile(params["log_pattern"])
    except re.error as exc:
        raise WatchError("log_pattern %r is not a valid regular expression: %s" % (params["log_pattern"], exc))


def watch(params: Dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> Dict[str, Any]:
    """Probe every URL each interval for duration seconds; return the counts and verdict."""
    pattern = check_params(params)
    followers = [LogFollower(path, pattern) for path in params["log_files"]]
    started = time.monotonic()
    deadline = started + params["duration"]
    samples: List[Dict[str, Any]] = []
    probes = failures = 0
    total_planned = max(1, int(params["duration"] // params["interval"])) * len(params["urls"])
    allowed_failures = params["max_error_rate"] * total_planned
    stopped_early = False
    while True:
        round_started = time.monotonic()
        for url in params["urls"]:
            sample = probe(url, params["timeout"], params["expected_status"], params["validate_certs"],
                           params["headers"])
            probes += 1
            failures += 0 if sample["ok"] else 1
            samples.append(sample)
        for follower in followers:
            follower.poll()
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
    kept = failed + [s for s in samples if s["ok"]][-OK_SAMPLES_KEPT:]
    kept.sort(key=lambda s: s["at"])
    log_errors = sum(f.count for f in followers)
    rate = float(failures) / probes if probes else 0.0
    return {"probes": probes, "failures": failures, "error_rate": round(rate, 4), "samples": kept,
            "log_errors": log_errors, "log_error_lines": [line for f in followers for line in f.lines][:FIRST_LINES],
            "duration_seconds": round(time.monotonic() - started, 1), "stopped_early": stopped_early,
            "healthy": rate <= params["max_error_rate"] and log_errors <= params["max_log_errors"]}


def verdict(result: Dict[str, Any], params: Dict[str, Any]) -> Optional[str]:
    """The failure message for an unhealthy watch, or None."""
    problems = []
    if result["error_rate"] > params["max_error_rate"]:
        first = next(s for s in result["samples"] if not s["ok"])
        problems.append("error rate %.1f%% (%d of %d probes) over %.0f s is above the %.1f%% allowed; first failure: "
                        "%s %s at %s" % (result["error_rate"] * 100, result["failures"], result["probes"],
                                         result["duration_seconds"], params["max_error_rate"] * 100, first["url"],
                                         first["error"], first["at"]))
    if result["log_errors"] > params["max_log_errors"]:
        problems.append("%d new line(s) matching %r in the logs during the watch (%d allowed): %s"
                        % (result["log_errors"], params["log_pattern"], params["max_log_errors"],
                           result["log_error_lines"][0] if result["log_error_lines"] else ""))
    if not problems:
        return None
    return "; ".join(problems) + ". The site is not healthy after the rollback: read the web and worker logs."
