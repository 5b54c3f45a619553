#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: error_rate_watch
short_description: Watch the error rate of a site for a while after a rollback
version_added: 0.1.0
description:
  - Probes every URL of O(urls) each O(interval) seconds for O(duration) seconds, and counts the
    lines matching O(log_pattern) written to O(log_files) during the watch (only new lines; a log
    truncated or rotated during the watch is read again from its start).
  - Fails when the share of failed probes (status not in O(expected_status), connection error,
    timeout) exceeds O(max_error_rate), or when more than O(max_log_errors) error lines appear,
    with the first failure in the message.
  - Times every probe (monotonic clock, milliseconds until the status line and headers arrive) and
    returns the median, 95th percentile, max and min over the probes that got an HTTP answer, whatever
    its status, and a trend of one entry per round of probes.
  - Fails when O(max_median_ms) or O(max_p95_ms) is set and the median or the 95th percentile of the
    whole watch is above it, or when one is set and no probe got an answer. Left unset (the default),
    the response times are only reported. Every limit exceeded is named in one message.
  - With O(fail_fast), stops as soon as the failures alone exceed what O(max_error_rate) allows over
    the whole watch. Response times never stop the watch early; they are judged at its end.
author:
  - runbooks.rollback developers (@runbooks)
options:
  urls:
    description: URLs probed each interval, as seen from the target.
    type: list
    elements: str
    required: true
  duration:
    description: Seconds to watch.
    type: float
    default: 300
  interval:
    description: Seconds between two rounds of probes.
    type: float
    default: 10
  timeout:
    description: Seconds per request.
    type: float
    default: 5
  max_error_rate:
    description: Fraction of failed probes allowed (0.05 is 5%).
    type: float
    default: 0.05
  max_median_ms:
    description:
      - Median response time allowed over the whole watch, in milliseconds (0 or more).
      - Unset (null), the median is reported and never fails the watch.
    type: float
  max_p95_ms:
    description:
      - 95th percentile (nearest rank) of the response times allowed over the whole watch, in
        milliseconds (0 or more).
      - Unset (null), the 95th percentile is reported and never fails the watch.
    type: float
  expected_status:
    description: HTTP statuses that count as a success.
    type: list
    elements: int
    default: [200]
  log_files:
    description: Logs whose new lines are scanned during the watch. A missing file is an error.
    type: list
    elements: path
    default: []
  log_pattern:
    description: Regular expression (Python) of an error line.
    type: str
    default: '\bERROR\b'
  max_log_errors:
    description: New error lines allowed during the watch.
    type: int
    default: 0
  fail_fast:
    description: Stop early once the failures make the allowed error rate unreachable.
    type: bool
    default: false
  validate_certs:
    description: Verify TLS certificates of HTTPS URLs.
    type: bool
    default: true
  headers:
    description: Extra request headers (e.g. C(Host)).
    type: dict
    default: {}
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: The watch takes minutes and changes nothing, but is not run in check mode; the result says so.
    support: full
'''

EXAMPLES = r'''
- name: Watch the site for 10 minutes after the rollback
  runbooks.rollback.error_rate_watch:
    urls: [http://127.0.0.1/healthz, http://127.0.0.1/api/v0/channels/]
    duration: 600
    interval: 10
    max_error_rate: 0.02
    log_files: [/var/log/open-discussions/web.log]

- name: Also fail when the site answers slowly (median above 300 ms or p95 above 1.5 s)
  runbooks.rollback.error_rate_watch:
    urls: [http://127.0.0.1/healthz]
    duration: 300
    max_median_ms: 300
    max_p95_ms: 1500
  register: watched

- name: Show the response times
  ansible.builtin.debug:
    msg: "median {{ watched.response_ms.median }} ms, p95 {{ watched.response_ms.p95 }} ms"
'''

RETURN = r'''
healthy:
  description: Whether the error rate, the error lines and the response times given a limit stayed within bounds (null in check mode).
  returned: always
  type: bool
  sample: true
probes:
  description: Requests made.
  returned: when watched
  type: int
  sample: 60
failures:
  description: Requests that failed.
  returned: when watched
  type: int
  sample: 0
error_rate:
  description: failures / probes.
  returned: when watched
  type: float
  sample: 0.0
samples:
  description: Every failed probe, the slowest answered one and the last successful ones, with time, URL, status, error, elapsed_ms.
  returned: when watched
  type: list
  elements: dict
  sample: [{"at": "2026-11-24T10:42:07Z", "url": "http://127.0.0.1/healthz", "status": 200, "ok": true,
            "error": null, "elapsed_ms": 12}]
response_ms:
  description:
    - Response times in milliseconds over the probes that got an HTTP answer (any status; a connection
      error or a timeout has none) - C(median), C(p95) (nearest rank), C(max) and C(min).
    - Each is null when no probe got an answer.
  returned: when watched
  type: dict
  sample: {"median": 41.2, "p95": 180.5, "max": 312.0, "min": 18.3}
trend:
  description:
    - One entry per round of probes, for a report to draw - C(at) (ISO UTC time of the round), C(failures),
      C(probes) and C(median_ms) (median response time of its answered probes, null when none answered).
    - At most 200 entries. Past 200 rounds, neighbouring entries are merged two by two (an entry then
      covers 2, 4, ... rounds and C(at) is its first round), so a long watch keeps its whole span.
  returned: when watched
  type: list
  elements: dict
  sample: [{"at": "2026-11-24T10:42:07Z", "failures": 0, "probes": 2, "median_ms": 41.2}]
log_errors:
  description: New error lines in the logs during the watch.
  returned: when watched
  type: int
  sample: 0
log_error_lines:
  description: The first of them, with their file.
  returned: when watched
  type: list
  elements: str
  sample: []
duration_seconds:
  description: How long the watch really took.
  returned: when watched
  type: float
  sample: 300.2
stopped_early:
  description: Whether O(fail_fast) ended the watch early.
  returned: when watched
  type: bool
  sample: false
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.error_rate import (
    WatchError, check_params, verdict, watch,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            urls=dict(type="list", elements="str", required=True),
            duration=dict(type="float", default=300),
            interval=dict(type="float", default=10),
            timeout=dict(type="float", default=5),
            max_error_rate=dict(type="float", default=0.05),
            max_median_ms=dict(type="float"),
            max_p95_ms=dict(type="float"),
            expected_status=dict(type="list", elements="int", default=[200]),
            log_files=dict(type="list", elements="path", default=[]),
            log_pattern=dict(type="str", default=r"\bERROR\b"),
            max_log_errors=dict(type="int", default=0),
            fail_fast=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            headers=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    try:
        check_params(module.params)
        if module.check_mode:
            module.exit_json(changed=False, healthy=None, msg="check mode: the %s s watch was not run"
                             % module.params["duration"])
        result = watch(module.params)
    except WatchError as exc:
        module.fail_json(msg=str(exc))
    message = verdict(result, module.params)
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
