# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Supervisor programs brought to a state: the supervisorctl client, its status, the wait.

No AnsibleModule here: the caller passes the command runner (``AnsibleModule.run_command``)
and the binaries it found. ``Supervisor`` is the backend ``bring_to`` drives; another
service manager (a ``systemd.py``) would offer the same methods:

- ``status()``: {name: STATE} of every program it knows;
- ``stop(names, limit)`` / ``start(names, limit, together)``: act, return what the tool said;
- ``confirmed(said, state)``: the programs that output says are already there;
- ``wait(names, state, deadline, said)``: read the status until all are there, or fail with
  each late program's state and the last lines of its log.

Every failure is a ``SupervisorError`` whose message is the module's ``msg``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import threading
import time

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
# Seconds between two status reads while waiting.
POLL_INTERVAL = 0.25


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


def confirmed_by(said, word):
    """Programs ``supervisorctl start``/``stop`` reported as ``name: started``/``name: stopped``."""
    names = set()
    for line in said.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and rest.strip() == word:
            names.add(name.strip())
    return names


def check_request(names, state, timeout, together):
    """Refuse, before anything runs, a request that cannot be carried out as asked."""
    if not names:
        raise SupervisorError("names is empty: give the supervisor programs to bring to %s" % state)
    if len(set(names)) != len(names):
        raise SupervisorError("names lists a program twice: %s" % ", ".join(names))
    if timeout < 1:
        raise SupervisorError("timeout must be 1 second or more, got %d" % timeout)
    if together and state == "stopped":
        raise SupervisorError("together=true starts programs at the same time; a stop goes in the order of names "
                              "(celery beat before the workers). Leave together out for state=stopped.")


def find_supervisorctl(given, get_bin_path):
    """The supervisorctl to run: ``given`` (checked to be executable), else ``get_bin_path`` finds it."""
    path = given or get_bin_path("supervisorctl", required=False)
    if given and not os.access(path, os.X_OK):
        raise SupervisorError("supervisorctl_path %s is not an executable file on this host" % path)
    if not path:
        raise SupervisorError("supervisorctl is not on the PATH of this host: is supervisor installed? "
                              "Give supervisorctl_path otherwise.")
    return path


class Supervisor(object):
    """supervisorctl ``path`` (with ``-c config`` when given), run through ``run_command``
    (``AnsibleModule.run_command``) and, when ``limiter`` (coreutils timeout) is given, ended
    once it outlasts its limit."""

    def __init__(self, run_command, path, config, limiter):
        self.run_command = run_command
        self.argv = [path] + (["-c", config] if config else [])
        self.limiter = limiter

    def run(self, *args, **kwargs):
        """supervisorctl with ``args``, ended after ``limit`` seconds (default STATUS_LIMIT) when the
        host has coreutils timeout; returns (rc, out, err), rc TIMED_OUT when it was ended.
        ``handle_exceptions=False`` raises OSError instead of failing the module (for threads)."""
        return self.run_command(self.limited(kwargs.get("limit", STATUS_LIMIT)) + self.argv + list(args),
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

    def stop(self, names, limit):
        """One ``supervisorctl stop`` for ``names``, in their order; returns what it said."""
        return self._act("stop", names, limit, False)

    def start(self, names, limit, together=False):
        """``supervisorctl start`` for ``names``: one call in their order, or with ``together`` one call
        each at the same time; returns what it said."""
        return self._act("start", names, limit, together)

    def _act(self, action, names, limit, together):
        if together and len(names) > 1:
            rc, out, err = self.start_together(names, limit)
        else:
            rc, out, err = self.run(action, *names, limit=limit)
        said = (out + err).strip()
        if rc == TIMED_OUT and self.limiter:
            # What supervisord does next is read from its status, until the deadline (now).
            said = ("%s\nsupervisorctl %s %s gave no answer within %d seconds and was ended"
                    % (said, action, " ".join(names), whole_seconds(limit))).strip()
        if rc not in (0, TIMED_OUT) and not out.strip():
            raise SupervisorError("%s %s %s failed (exit %d): %s" % (" ".join(self.argv), action,
                                                                     " ".join(names), rc, said[-500:]))
        return said

    def confirmed(self, said, state):
        """supervisord answers "started" only once the program has run for its startsecs, and
        "stopped" once it has exited: the programs it said so of need no status read."""
        return confirmed_by(said, "started" if state == "started" else "stopped")

    def wait(self, names, state, deadline, said=""):
        """Read the status until every program of ``names`` is in ``state``; return the last states."""
        while True:
            states = self.status()
            if state == "started":
                fatal = [n for n in names if states.get(n) == "FATAL"]
                if fatal:
                    raise self.not_there(fatal, states, "ended FATAL: supervisor gave up starting it", said)
            late = [n for n in names if states.get(n) not in WANTED[state]]
            if not late:
                return states
            if time.monotonic() >= deadline:
                raise self.not_there(late, states, "is still {state}, not %s, after the timeout" % state, said)
            time.sleep(POLL_INTERVAL)

    def not_there(self, names, states, what, said):
        """The error for programs not in the wanted state; ``{state}`` in ``what`` is each one's state."""
        details = []
        for name in names:
            tail = self.log_tail(name)
            seen = what.format(state=states.get(name, "unknown"))
            details.append("%s %s%s" % (name, seen, (". Its last log lines:\n%s" % tail[-1200:]) if tail else ""))
        return SupervisorError("; ".join(details) + ("\nsupervisorctl said: %s" % said.strip() if said.strip() else ""))


def bring_to(supervisor, names, state, timeout, together=False, check_mode=False):
    """Stop or start ``names`` (checked by ``check_request``) and wait until each is in ``state``,
    at most ``timeout`` seconds per program acted on; return the module's result."""
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
              "programs": [{"name": n, "before": before[n], "after": before[n]} for n in names],
              "running": [n for n in names if before[n] == "RUNNING"]}
    if check_mode or not waited_on:
        return result
    started = time.monotonic()
    deadline = started + timeout * max(len(waited_on), 1)
    said = ""
    if acted_on:
        budget = deadline - time.monotonic()
        if state == "stopped":
            said = supervisor.stop(acted_on, budget)
        else:
            said = supervisor.start(acted_on, budget, together)
        result["supervisorctl"] = said.splitlines()
    confirmed = supervisor.confirmed(said, state)
    if all(n in confirmed for n in waited_on):
        after = dict((n, before[n] if n not in waited_on else WANTED[state][0]) for n in names)
    else:
        after = supervisor.wait(names, state, deadline, said)
    result["elapsed"] = round(time.monotonic() - started, 2)
    result["programs"] = [{"name": n, "before": before[n], "after": after.get(n)} for n in names]
    result["running"] = [n for n in names if after.get(n) == "RUNNING"]
    return result
