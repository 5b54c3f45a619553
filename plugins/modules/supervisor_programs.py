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
extends_documentation_fragment:
  - runbooks.rollback.attributes
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
running:
  description:
    - The programs of O(names) that run at the end (RUNNING; the first read in check mode), in order.
    - Not those STARTING or in BACKOFF (a crash loop), which RV(acted_on) counts as running for a stop.
  returned: always
  type: list
  elements: str
  sample: [celery_worker]
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.supervisor import (
    Supervisor, SupervisorError, bring_to, check_request, find_supervisorctl)


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
    params = module.params
    try:
        check_request(params["names"], params["state"], params["timeout"], params["together"])
        path = find_supervisorctl(params["supervisorctl_path"], module.get_bin_path)
        supervisor = Supervisor(module.run_command, path, params["config"],
                                module.get_bin_path("timeout", required=False))
        result = bring_to(supervisor, params["names"], params["state"], params["timeout"], params["together"],
                          module.check_mode)
    except SupervisorError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
