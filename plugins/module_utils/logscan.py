# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find error lines written to application logs since a moment (the start of the rollback).

Each line's time is the first ``YYYY-MM-DD[ T]HH:MM:SS`` on it (Python logging's asctime,
gunicorn's ``[2026-11-24 10:00:00 +0000]``, celery's ``[2026-11-24 10:00:00,123: ERROR/...]``),
with the zone written after it if any, else ``default_tz``.  A line without a time (a
traceback) belongs to the last line that had one.  Files are streamed line by line.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
import re
from typing import Any, Dict, Iterable, List, Optional

TIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?")


class LogScanError(Exception):
    """A log cannot be scanned; the message names the file and the fix."""


def line_time(line: str, default_tz: datetime.tzinfo) -> Optional[datetime.datetime]:
    match = TIME_RE.search(line)
    if not match:
        return None
    try:
        moment = datetime.datetime.strptime(match.group(1) + " " + match.group(2), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    zone = match.group(3)
    if zone is None:
        tz = default_tz
    elif zone == "Z":
        tz = datetime.timezone.utc
    else:
        digits = zone.replace(":", "")
        offset = datetime.timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
        tz = datetime.timezone(-offset if digits[0] == "-" else offset)
    return moment.replace(tzinfo=tz)


def scan_lines(lines: Iterable[str], pattern: "re.Pattern[str]", since: datetime.datetime,
               default_tz: datetime.tzinfo, limit: int) -> Dict[str, Any]:
    """Matching lines at or after since: {count, matches (first limit), undated}."""
    current = None
    count = 0
    undated = 0
    matches: List[Dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        stamp = line_time(line, default_tz)
        if stamp is not None:
            current = stamp
        if not pattern.search(line):
            continue
        if current is None:
            undated += 1
            continue
        if current < since:
            continue
        count += 1
        if len(matches) < limit:
            matches.append({"line_number": number, "time": current.astimezone(datetime.timezone.utc)
                            .strftime("%Y-%m-%dT%H:%M:%SZ"), "line": line.rstrip("\n")[:1000]})
    return {"count": count, "matches": matches, "undated": undated}


def scan_file(path: str, pattern: "re.Pattern[str]", since: datetime.datetime,
              default_tz: datetime.tzinfo, limit: int) -> Dict[str, Any]:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            result = scan_lines(handle, pattern, since, default_tz, limit)
    except FileNotFoundError:
        raise LogScanError("log file %s does not exist; check the path (the runbook's paths are defaults) "
                           "or set missing_ok=true" % path)
    except OSError as exc:
        raise LogScanError("cannot read log file %s: %s; run as a user who can read it (become)" % (path, exc))
    result["file"] = path
    for match in result["matches"]:
        match["file"] = path
    return result
