#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: log_scan
short_description: Find error lines written to application logs since the rollback started
version_added: 0.1.0
description:
  - Reads log files line by line and returns the lines matching O(pattern) whose time is at or
    after O(since).
  - A line's time is the first C(YYYY-MM-DD HH:MM:SS) on it (Python logging, gunicorn and celery
    formats), with the zone written after it, else O(default_timezone_offset). Lines without a time
    (tracebacks) belong to the last dated line; matching lines before any dated line are counted
    as RV(undated) and not reported.
  - With O(max_matches), fails when more lines match, quoting the first ones.
  - Read-only; the same in check mode.
author:
  - runbooks.rollback developers (@runbooks)
options:
  files:
    description: Log files to read.
    type: list
    elements: path
    required: true
  since:
    description: Only lines at or after this time count. ISO 8601 with a zone, or epoch seconds.
    type: str
    required: true
  pattern:
    description: Regular expression (Python) a line must match.
    type: str
    default: '\bERROR\b'
  default_timezone_offset:
    description: Zone of log times written without one, as C(+HH:MM).
    type: str
    default: '+00:00'
  missing_ok:
    description: Skip log files that do not exist instead of failing.
    type: bool
    default: false
  max_matches:
    description: Fail when more lines than this match. Omit to only report.
    type: int
  report_limit:
    description: How many matching lines to return per file.
    type: int
    default: 20
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
'''

EXAMPLES = r'''
- name: Look for errors logged since the rollback started
  runbooks.rollback.log_scan:
    files:
      - /var/log/open-discussions/web.log
      - /var/log/open-discussions/celery_worker.log
    since: "{{ decision_started_at }}"
    max_matches: 0
'''

RETURN = r'''
count:
  description: Matching lines at or after O(since), all files.
  returned: success and when O(max_matches) is exceeded
  type: int
  sample: 2
matches:
  description: The first matching lines of each file.
  returned: success and when O(max_matches) is exceeded
  type: list
  elements: dict
  sample: [{"file": "/var/log/open-discussions/web.log", "line_number": 812, "time": "2026-11-24T10:42:07Z",
            "line": "2026-11-24 10:42:07,120 ERROR django.request Internal Server Error: /c/general/"}]
per_file:
  description: Number of matching lines per file.
  returned: success and when O(max_matches) is exceeded
  type: dict
  sample: {"/var/log/open-discussions/web.log": 2}
undated:
  description: Matching lines before any dated line (time unknown, not counted).
  returned: success
  type: int
  sample: 0
missing:
  description: Files that did not exist (with O(missing_ok)).
  returned: success
  type: list
  elements: str
  sample: []
'''

import datetime
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.logscan import LogScanError, scan_file
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import TimestampError, parse_timestamp

OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def run(params):
    since = parse_timestamp(params["since"], "since")
    match = OFFSET_RE.match(params["default_timezone_offset"])
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise LogScanError("default_timezone_offset %r is not an offset like +00:00 or -05:00"
                           % params["default_timezone_offset"])
    offset = datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    tz = datetime.timezone(-offset if match.group(1) == "-" else offset)
    try:
        pattern = re.compile(params["pattern"])
    except re.error as exc:
        raise LogScanError("pattern %r is not a valid regular expression: %s" % (params["pattern"], exc))
    if params["report_limit"] < 0:
        raise LogScanError("report_limit must be 0 or more, got %d" % params["report_limit"])
    result = {"count": 0, "matches": [], "per_file": {}, "undated": 0, "missing": []}
    for path in params["files"]:
        try:
            found = scan_file(path, pattern, since, tz, params["report_limit"])
        except LogScanError:
            if params["missing_ok"] and not _exists(path):
                result["missing"].append(path)
                continue
            raise
        result["count"] += found["count"]
        result["undated"] += found["undated"]
        result["per_file"][path] = found["count"]
        result["matches"] += found["matches"]
    return result


def _exists(path):
    try:
        with open(path, "rb"):
            return True
    except FileNotFoundError:
        return False
    except OSError:
        return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="path", required=True),
            since=dict(type="str", required=True),
            pattern=dict(type="str", default=r"\bERROR\b"),
            default_timezone_offset=dict(type="str", default="+00:00"),
            missing_ok=dict(type="bool", default=False),
            max_matches=dict(type="int"),
            report_limit=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except (LogScanError, TimestampError) as exc:
        module.fail_json(msg=str(exc))
    limit = module.params["max_matches"]
    if limit is not None and result["count"] > limit:
        first = result["matches"][0] if result["matches"] else None
        module.fail_json(
            msg="%d line(s) matching %r since %s (%d allowed): %s"
                % (result["count"], module.params["pattern"], module.params["since"], limit,
                   "; ".join("%s: %s" % (path, n) for path, n in result["per_file"].items() if n))
                + ("; first: %s:%d %s" % (first["file"], first["line_number"], first["line"]) if first else ""),
            **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
