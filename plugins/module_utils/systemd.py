# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd units read and waited on: ``systemctl show``, pending jobs, the wait, the journal.

The systemd counterpart of ``supervisor.py`` for the services role. It never starts or stops
a unit (the role does that with ``ansible.builtin.systemd_service``): it refuses unknown unit
names, says which units are not in the wanted state, and waits until each really is - stopped,
or running and still running (the same main process, no restart) after a settle time - or fails
with each late unit's state and its last journal lines.

No AnsibleModule here: the caller passes the command runner (``AnsibleModule.run_command``) and
the binaries it found. Every failure is a ``SystemdError`` whose message is the module's ``msg``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import math
import os
import time

PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "Result", "Job", "MainPID", "NRestarts",
              "InvocationID", "ExecMainStatus", "ActiveEnterTimestampMonotonic")
# Unit types a name may end with; a name without one is a service (as systemctl reads it).
UNIT_TYPES = (".service", ".socket", ".target", ".timer", ".path", ".mount", ".scope", ".slice")
STOPPED = ("inactive", "failed")
# A stop acts on these (activating covers auto-restart, a crash loop systemd retries by itself),
# and a start leaves them alone (systemd is already bringing them up).
STOPPABLE = ("active", "activating", "reloading")
ALREADY_STARTED = STOPPABLE
# Seconds a systemctl or journalctl call may take before coreutils timeout ends it.
CALL_LIMIT = 30
TIMED_OUT = 124
POLL_INTERVAL = 0.25
# Where the units an administrator wrote live (listed when a name is unknown).
LOCAL_UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system")


class SystemdError(Exception):
    """A failure a tired human can act on: the message says which unit and what was seen."""


def unit_name(name):
    """``web`` -> ``web.service``; a name with its unit type is kept."""
    return name if name.endswith(UNIT_TYPES) else name + ".service"


def check_request(names, timeout, settle):
    """Refuse, before anything runs, a request that cannot be carried out as asked."""
    if not names:
        raise SystemdError("names is empty: give the systemd units to read or wait on")
    units = [unit_name(n) for n in names]
    if len(set(units)) != len(units):
        raise SystemdError("names lists a unit twice: %s" % ", ".join(names))
    if timeout < 1:
        raise SystemdError("timeout must be 1 second or more, got %d" % timeout)
    if settle < 0:
        raise SystemdError("settle must be 0 seconds or more, got %s" % settle)


def parse_show(text):
    """``systemctl show -p ... u1 u2`` output -> a list of {property: value}, one per unit, in order."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    return blocks


def describe(props):
    """``active (running)``, ``failed (exit-code, status 3)``, ..."""
    active, sub = props.get("ActiveState", "unknown"), props.get("SubState", "")
    text = "%s (%s)" % (active, sub) if sub else active
    if active == "failed":
        text = "failed (%s, exit status %s)" % (props.get("Result", "?"), props.get("ExecMainStatus", "?"))
    return text


def serving(props):
    """The unit runs now: active (running), not activating, reloading or in auto-restart."""
    return props.get("ActiveState") == "active" and props.get("SubState") == "running"


def restarts(props):
    """`` (systemd restarted it 5 times)`` when it did, else empty."""
    count = props.get("NRestarts", "0")
    return "" if count in ("", "0") else " (systemd restarted it %s times)" % count


def local_units(dirs=LOCAL_UNIT_DIRS):
    """Service units written by an administrator (not masked), sorted."""
    found = set()
    for folder in dirs:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".service") and "@." not in name and os.path.realpath(path) != "/dev/null":
                found.add(name)
    return sorted(found)


class Systemd(object):
    """systemctl and journalctl run through ``run_command`` (``AnsibleModule.run_command``), each
    ended after CALL_LIMIT seconds when ``limiter`` (coreutils timeout) is given."""

    def __init__(self, run_command, systemctl, journalctl, limiter, unit_dirs=LOCAL_UNIT_DIRS):
        self.run_command = run_command
        self.systemctl = systemctl
        self.journalctl = journalctl
        self.limiter = limiter
        self.unit_dirs = unit_dirs

    def run(self, argv):
        limit = [self.limiter, "--kill-after=5", "%d" % CALL_LIMIT] if self.limiter else []
        return self.run_command(limit + argv)

    def show(self, units):
        """{unit: {property: value}} of ``units``, read in one call."""
        argv = [self.systemctl, "show", "--property=" + ",".join(PROPERTIES), "--"] + list(units)
        rc, out, err = self.run(argv)
        blocks = parse_show(out)
        if rc != 0 or len(blocks) != len(units):
            if rc == TIMED_OUT and self.limiter:
                raise SystemdError("systemd did not answer %s within %d seconds: is it hung? Try systemctl status."
                                   % (" ".join(argv), CALL_LIMIT))
            raise SystemdError("cannot read the units' state with %s (exit %d): %s. Is systemd this host's service "
                               "manager (PID 1)? Set rollback_service_manager: supervisor otherwise."
                               % (" ".join(argv), rc, (out + err).strip()[-500:]))
        return dict(zip(units, blocks))

    def service_units(self):
        """Every service unit systemd knows (loaded or with a unit file), sorted."""
        found = set()
        for argv in ([self.systemctl, "list-units", "--type=service", "--all", "--no-legend", "--plain",
                      "--no-pager"],
                     [self.systemctl, "list-unit-files", "--type=service", "--no-legend", "--no-pager"]):
            rc, out, _err = self.run(argv)
            if rc == 0:
                for line in out.splitlines():
                    fields = line.split()
                    if fields and fields[0].endswith(".service") and "@." not in fields[0]:
                        found.add(fields[0])
        return sorted(found)

    def journal(self, unit, lines):
        """The last ``lines`` lines of the unit's journal (journald may lag a fraction of a second)."""
        argv = [self.journalctl, "-u", unit, "-n", "%d" % lines, "--no-pager"]
        out = ""
        for attempt in range(2):
            rc, out, err = self.run(argv)
            if rc != 0:
                return "(%s failed, exit %d: %s)" % (" ".join(argv[:3]), rc, (out + err).strip()[-200:])
            if out.strip() and "-- No entries --" not in out:
                break
            if attempt == 0:
                time.sleep(0.5)
        return out.strip()


def refuse_unknown(systemd, names, states, hostname):
    """Fail, naming the units that exist, when systemd has no unit file for a name."""
    unknown = [n for n in names if states[unit_name(n)].get("LoadState") == "not-found"]
    if not unknown:
        return
    known = systemd.service_units()
    local = [u for u in local_units(systemd.unit_dirs) if u in known] or local_units(systemd.unit_dirs)
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(unit_name(name), known, n=3, cutoff=0.6)
        if close:
            hints.append("%s: did you mean %s?" % (name, " or ".join(close)))
    raise SystemdError(
        "systemd on %s has no unit named %s (LoadState not-found). %sUnits of %s: %s. Set services_programs "
        "(rollback_app_programs, rollback_worker_programs) to the names of the units this host runs "
        "(all of them: systemctl list-units --type=service --all)."
        % (hostname, ", ".join(unit_name(n) for n in unknown), (" ".join(hints) + " ") if hints else "",
           " and ".join(systemd.unit_dirs), ", ".join(local) or "none"))


def not_there(systemd, names, states, what, lines):
    """The error for units not in the wanted state; ``{state}`` in ``what`` is each one's state."""
    details = []
    for name in names:
        unit = unit_name(name)
        tail = systemd.journal(unit, lines)
        details.append("%s %s%s. Its last journal lines (journalctl -u %s -n %d --no-pager):\n%s"
                       % (unit, what.format(state=describe(states[unit])), restarts(states[unit]), unit, lines,
                          tail[-3000:]))
    return SystemdError("\n".join(details))


def wait_for(systemd, names, state, timeout, settle, lines, clock=time.monotonic, sleep=time.sleep):
    """Read the units until each is in ``state``; return their last states.

    stopped: inactive or failed, with no job pending. started: active with no job pending since
    ``settle`` seconds (systemd's ActiveEnterTimestampMonotonic: a restart starts it again). A unit
    that ends inactive or failed with no job pending fails the wait at once; one still activating
    (a crash loop: auto-restart) fails it at the deadline, ``timeout`` plus ``settle`` seconds on.
    """
    units = [unit_name(n) for n in names]
    deadline = clock() + timeout + settle
    seen_active = {}
    while True:
        states = systemd.show(units)
        now = clock()
        late = []
        for name, unit in zip(names, units):
            props = states[unit]
            pending = bool(props.get("Job"))
            active = props.get("ActiveState")
            if state == "stopped":
                if pending or active not in STOPPED:
                    late.append(name)
                continue
            if pending:
                late.append(name)
                continue
            if active in STOPPED:
                raise not_there(systemd, [name], states, "is {state} right after its start: it did not stay "
                                "running", lines)
            if active != "active":
                seen_active.pop(unit, None)
                late.append(name)
            elif now - active_since(props, unit, seen_active, now) < settle:
                late.append(name)
        if not late:
            return states
        if now >= deadline:
            if state == "stopped":
                what = "is still {state}, not stopped, after %d seconds" % timeout
            else:
                what = ("is still {state}, not running for %s seconds in a row, after %d seconds"
                        % (_seconds(settle), timeout))
            raise not_there(systemd, late, states, what, lines)
        sleep(POLL_INTERVAL)


def active_since(props, unit, seen, now):
    """When the unit became active, on the clock of ``now`` (CLOCK_MONOTONIC, systemd's
    ActiveEnterTimestampMonotonic); without that timestamp, when this wait first saw it active with
    its main process and restart count (a change of either starts the count again)."""
    mark = (props.get("MainPID"), props.get("NRestarts"), props.get("InvocationID"))
    if seen.get(unit, (None, None))[0] != mark:
        seen[unit] = (mark, now)
    try:
        entered = int(props.get("ActiveEnterTimestampMonotonic") or 0) / 1e6
    except ValueError:
        entered = 0
    if 0 < entered <= now:
        return entered
    return seen[unit][1]


def _seconds(value):
    return "%d" % value if value == math.floor(value) else "%s" % value


def read_and_wait(systemd, names, state, timeout=60, settle=2.0, lines=20, wait=True, hostname="this host",
                  check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """The module's result: read ``names`` (refusing unknown ones), then, unless ``wait`` is false
    or in check mode, wait until each is in ``state``."""
    check_request(names, timeout, settle)
    units = [unit_name(n) for n in names]
    before = systemd.show(units)
    refuse_unknown(systemd, names, before, hostname)
    if state == "stopped":
        acted_on = [n for n, u in zip(names, units) if before[u].get("ActiveState") in STOPPABLE]
    else:
        acted_on = [n for n, u in zip(names, units) if before[u].get("ActiveState") not in ALREADY_STARTED]
    result = {"changed": False, "acted_on": acted_on, "elapsed": 0.0,
              "programs": [{"name": n, "unit": u, "before": describe(before[u]), "after": describe(before[u])}
                           for n, u in zip(names, units)],
              "running": [n for n, u in zip(names, units) if serving(before[u])]}
    if check_mode or not wait:
        return result
    started = clock()
    after = wait_for(systemd, names, state, timeout, settle, lines, clock=clock, sleep=sleep)
    result["elapsed"] = round(clock() - started, 2)
    result["programs"] = [{"name": n, "unit": u, "before": describe(before[u]), "after": describe(after[u])}
                          for n, u in zip(names, units)]
    result["running"] = [n for n, u in zip(names, units) if serving(after[u])]
    return result
