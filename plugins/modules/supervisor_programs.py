#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: supervisor_programs
short_description: Stop or start several supervisor programs in order and wait until each really is
version_added: 0.1.0
description:
  - Brings the supervisor programs O(names) to O(state) in the order given, with one C(supervisorctl stop)
    or C(supervisorctl start) for all of them, then reads C(supervisorctl status) until every program is
    in the wanted state - C(STOPPED), C(EXITED) or C(FATAL) for O(state=stopped), C(RUNNING) for
    O(state=started).
  - With O(together=true) the programs are started at the same time instead (one C(supervisorctl start)
    each, all at once), so the wait is the longest C(startsecs) of them rather than their sum.
  - M(community.general.supervisorctl) takes one program per task and does not read the state back; a
    rollback stops and starts several programs while the site is down, and every task is a round trip to
    the host. This module does the stop (or start) and the wait of all the programs in one.
  - Programs already in the wanted state are left alone (C(changed=false) when all are).
  - Refuses, before acting on any program, names that supervisor does not know, listing the ones it knows.
  - Fails when a program does not get there within O(timeout) seconds, or when a started program ends
    C(FATAL); the message gives the program's state and the last lines of its log.
author:
  - runbooks.rollback developers (@runbooks)
options:
  names:
    description:
      - Program names as C(supervisorctl status) shows them (C(group:name) for programs of a group),
        in the order they are acted on. C(supervisorctl) stops (or starts) them one after the other.
    type: list
    elements: str
    required: true
  state:
    description: V(stopped) or V(started).
    type: str
    choices: [started, stopped]
    required: true
  config:
    description: The supervisord configuration C(supervisorctl) reads (its C(-c)). Omit for its default.
    type: path
  supervisorctl_path:
    description: The C(supervisorctl) binary. Omit to look for it on the PATH.
    type: path
  timeout:
    description:
      - Seconds each program acted on may take to reach O(state); the call as a whole waits at most
        this times the number of programs acted on.
      - The C(supervisorctl stop) or C(start) itself is ended (with coreutils C(timeout), when the host
        has it) once it outlasts that budget, and each C(supervisorctl status) after 30 seconds, so a
        supervisord that does not answer fails the task instead of hanging it. supervisord may go on
        with what it was asked; the failure says which programs were not there yet.
    type: int
    default: 60
  together:
    description:
      - With O(state=started), start every program of O(names) at the same time, one C(supervisorctl start)
        each, and wait until all run. supervisord counts a program as started only after its C(startsecs)
        (and notices it at its next one-second tick), so one after the other costs one to two seconds per
        program while the site is down.
      - A stop always goes in the order of O(names) (celery beat before the workers); V(true) with
        O(state=stopped) is refused.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads the status and reports which programs would be stopped or started.
    support: full
notes:
  - Stop programs that feed others first (celery beat before the workers) and start them in the reverse order.
seealso:
  - module: community.general.supervisorctl
'''

EXAMPLES = r'''
- name: Stop celery beat, then the workers, and wait until both are stopped
  runbooks.rollback.supervisor_programs:
    names: [celery_beat, celery_worker]
    state: stopped

- name: Start the workers, then celery beat, and wait until both run
  runbooks.rollback.supervisor_programs:
    names: [celery_worker, celery_beat]
    state: started
    config: /etc/supervisor/supervisord.conf
    timeout: 30

- name: Start the workers, celery beat and web at the same time, and wait until all run
  runbooks.rollback.supervisor_programs:
    names: [celery_worker, celery_beat, web]
    state: started
    together: true
'''

RETURN = r'''
programs:
  description: Each program of O(names), with its state before and after (the same in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "celery_beat", "before": "RUNNING", "after": "STOPPED"},
           {"name": "celery_worker", "before": "RUNNING", "after": "STOPPED"}]
acted_on:
  description: The programs that were stopped or started (would have been, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [celery_beat, celery_worker]
supervisorctl:
  description: What C(supervisorctl stop) or C(start) printed, a line per program.
  returned: when a program was acted on
  type: list
  elements: str
  sample: ["celery_beat: stopped", "celery_worker: stopped"]
elapsed:
  description: Seconds from the stop (or start) to every program being in O(state).
  returned: always
  type: float
  sample: 1.42
'''

import math
import os
import threading
import time

from ansible.module_utils.basic import AnsibleModule

WANTED = {
    "stopped": ("STOPPED", "EXITED", "FATAL"),
    "started": ("RUNNING",),
}
# supervisorctl start answers "already started" in these states (BACKOFF: supervisord retries by
# itself), and stop stops a program in any of them.
ALREADY_STARTED = ("RUNNING", "STARTING", "BACKOFF")
STOPPABLE = ALREADY_STARTED
# Seconds a supervisorctl status (or tail) may take; coreutils timeout exits 124 when it ends one.
STATUS_LIMIT = 30
TIMED_OUT = 124


class SupervisorError(Exception):
    """A failure a tired human can act on: the message says which program and what was seen."""


def parse_status(text):
    """``supervisorctl status`` output -> {name: STATE}, in supervisor's order."""
    states = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].isupper() and fields[1].isalpha():
            states[fields[0]] = fields[1]
    return states


def whole_seconds(limit):
    """The limit given to coreutils timeout: whole seconds, at least one."""
    return max(1, int(math.ceil(limit)))


class Supervisor(object):
    def __init__(self, module, path, config):
        self.module = module
        self.argv = [path] + (["-c", config] if config else [])
        self.limiter = module.get_bin_path("timeout", required=False)

    def run(self, *args, **kwargs):
        """supervisorctl with ``args``, ended after ``limit`` seconds (default STATUS_LIMIT) when the
        host has coreutils timeout; returns (rc, out, err), rc TIMED_OUT when it was ended.
        ``handle_exceptions=False`` raises OSError instead of failing the module (for threads)."""
        return self.module.run_command(self.limited(kwargs.get("limit", STATUS_LIMIT)) + self.argv + list(args),
                                       handle_exceptions=kwargs.get("handle_exceptions", True))

    def start_together(self, names, limit):
        """One ``supervisorctl start`` per program, all at once (supervisord serves them side by side);
        returns (rc, out, err) as one call would: the worst exit code, the outputs in the order of names."""
        results = {}

        def start(name):
            # A thread must not fail the module itself (fail_json would exit that thread alone).
            try:
                results[name] = self.run("start", name, limit=limit, handle_exceptions=False)
            except OSError as exc:
                results[name] = (1, "", "%s start %s could not run: %s\n" % (" ".join(self.argv), name, exc))

        threads = [threading.Thread(target=start, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = [results[n][0] for n in names]
        worst = TIMED_OUT if TIMED_OUT in codes else max(codes)
        return (worst, "".join(results[n][1] for n in names), "".join(results[n][2] for n in names))

    def limited(self, limit):
        if not self.limiter:
            return []
        return [self.limiter, "--kill-after=5", "%d" % whole_seconds(limit)]

    def status(self):
        rc, out, err = self.run("status")
        states = parse_status(out)
        if not states and rc == TIMED_OUT and self.limiter:
            raise SupervisorError("supervisord did not answer %s within %d seconds: is it hung? Look at its log "
                                  "(/var/log/supervisor/supervisord.log by default)."
                                  % (" ".join(self.argv + ["status"]), STATUS_LIMIT))
        # 3 is "some program is not running" (LSB); anything else without a status is a failure.
        if not states and (rc not in (0, 3) or "refused" in out + err or "no such file" in (out + err).lower()):
            raise SupervisorError("cannot read the status from supervisord with %s (exit %d): %s. Is supervisord "
                                  "running, and is this its configuration?"
                                  % (" ".join(self.argv + ["status"]), rc, (out + err).strip()[-500:]))
        return states

    def log_tail(self, name):
        """The last lines the program wrote (stderr, or stdout when stderr goes there)."""
        for channel in ("stderr", "stdout"):
            rc, out, _err = self.run("tail", "-1200", name, channel)
            if rc == 0 and out.strip() and "ERROR" not in out.splitlines()[0]:
                return out.strip()
        return ""


def confirmed_by(said, word):
    """Programs ``supervisorctl start``/``stop`` reported as ``name: started``/``name: stopped``."""
    names = set()
    for line in said.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and rest.strip() == word:
            names.add(name.strip())
    return names


def wait_for(supervisor, names, state, deadline, said=""):
    """Read the status until every program of ``names`` is in ``state``; return the last states."""
    while True:
        states = supervisor.status()
        if state == "started":
            fatal = [n for n in names if states.get(n) == "FATAL"]
            if fatal:
                raise not_there(supervisor, fatal, states, "ended FATAL: supervisor gave up starting it", said)
        late = [n for n in names if states.get(n) not in WANTED[state]]
        if not late:
            return states
        if time.monotonic() >= deadline:
            raise not_there(supervisor, late, states, "is still {state}, not %s, after the timeout" % state, said)
        time.sleep(0.25)


def not_there(supervisor, names, states, what, said):
    """The error for programs not in the wanted state; ``{state}`` in ``what`` is each one's state."""
    details = []
    for name in names:
        tail = supervisor.log_tail(name)
        seen = what.format(state=states.get(name, "unknown"))
        details.append("%s %s%s" % (name, seen, (". Its last log lines:\n%s" % tail[-1200:]) if tail else ""))
    return SupervisorError("; ".join(details) + ("\nsupervisorctl said: %s" % said.strip() if said.strip() else ""))


def run(module):
    params = module.params
    names = params["names"]
    state = params["state"]
    if not names:
        raise SupervisorError("names is empty: give the supervisor programs to bring to %s" % state)
    if len(set(names)) != len(names):
        raise SupervisorError("names lists a program twice: %s" % ", ".join(names))
    if params["timeout"] < 1:
        raise SupervisorError("timeout must be 1 second or more, got %d" % params["timeout"])
    if params["together"] and state == "stopped":
        raise SupervisorError("together=true starts programs at the same time; a stop goes in the order of names "
                              "(celery beat before the workers). Leave together out for state=stopped.")
    path = params["supervisorctl_path"] or module.get_bin_path("supervisorctl", required=False)
    if params["supervisorctl_path"] and not os.access(path, os.X_OK):
        raise SupervisorError("supervisorctl_path %s is not an executable file on this host" % path)
    if not path:
        raise SupervisorError("supervisorctl is not on the PATH of this host: is supervisor installed? "
                              "Give supervisorctl_path otherwise.")
    supervisor = Supervisor(module, path, params["config"])
    before = supervisor.status()
    unknown = [n for n in names if n not in before]
    if unknown:
        raise SupervisorError("supervisor has no program named %s. Known programs: %s. Use the names of the "
                              "[program:...] sections of its configuration (group:name for grouped ones)."
                              % (", ".join(unknown), ", ".join(sorted(before)) or "none"))
    if state == "stopped":
        acted_on = [n for n in names if before[n] in STOPPABLE]
    else:
        acted_on = [n for n in names if before[n] not in ALREADY_STARTED]
    waited_on = [n for n in names if before[n] not in WANTED[state]]
    result = {"changed": bool(acted_on), "acted_on": acted_on, "elapsed": 0.0,
              "programs": [{"name": n, "before": before[n], "after": before[n]} for n in names]}
    if module.check_mode or not waited_on:
        return result
    started = time.monotonic()
    deadline = started + params["timeout"] * max(len(waited_on), 1)
    said = ""
    if acted_on:
        action = "stop" if state == "stopped" else "start"
        budget = deadline - time.monotonic()
        if params["together"] and len(acted_on) > 1:
            rc, out, err = supervisor.start_together(acted_on, budget)
        else:
            rc, out, err = supervisor.run(action, *acted_on, limit=budget)
        said = (out + err).strip()
        if rc == TIMED_OUT and supervisor.limiter:
            # What supervisord does next is read from its status, until the deadline (now).
            said = ("%s\nsupervisorctl %s %s gave no answer within %d seconds and was ended"
                    % (said, action, " ".join(acted_on), whole_seconds(budget))).strip()
        result["supervisorctl"] = said.splitlines()
        if rc not in (0, TIMED_OUT) and not out.strip():
            raise SupervisorError("%s %s %s failed (exit %d): %s" % (" ".join(supervisor.argv), action,
                                                                     " ".join(acted_on), rc, said[-500:]))
    # supervisord answers "started" only once the program has run for its startsecs, and "stopped"
    # once it has exited: those need no status read. Anything else is read until it is there.
    confirmed = confirmed_by(said, "started" if state == "started" else "stopped")
    if all(n in confirmed for n in waited_on):
        after = dict((n, before[n] if n not in waited_on else WANTED[state][0]) for n in names)
    else:
        after = wait_for(supervisor, names, state, deadline, said)
    result["elapsed"] = round(time.monotonic() - started, 2)
    result["programs"] = [{"name": n, "before": before[n], "after": after.get(n)} for n in names]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["started", "stopped"], required=True),
            config=dict(type="path"),
            supervisorctl_path=dict(type="path"),
            timeout=dict(type="int", default=60),
            together=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except SupervisorError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
