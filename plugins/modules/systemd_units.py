#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: systemd_units
short_description: Read several systemd units and wait until each really is stopped or running
version_added: 0.2.0
description:
  - Reads the units O(names) with one C(systemctl show) and refuses, naming the units that exist, a
    name systemd has no unit file for (C(LoadState=not-found)).
  - Then, with O(wait=true), reads them again until every unit is in O(state). V(stopped) is
    C(inactive) or C(failed) with no job pending. V(started) is C(active) with no job pending, and
    still C(active) with the same main process and restart count O(settle) seconds later, so that a
    program that crashes right after its start (and one systemd keeps restarting) fails the wait
    instead of passing it.
  - Fails at once when a unit started ends C(inactive) or C(failed), and at the deadline when a unit
    is not there yet; the message gives the unit's state and its last journal lines
    (C(journalctl -u UNIT -n 20 --no-pager)).
  - It never starts or stops a unit. The services role does that with M(ansible.builtin.systemd_service)
    (a stop in order, a start with C(no_block)) and calls this module before to know which units to act
    on, and after to wait.
author:
  - runbooks.rollback developers (@runbooks)
options:
  names:
    description:
      - Unit names, V(web) or V(web.service) (a name without a unit type is a service).
    type: list
    elements: str
    required: true
  state:
    description:
      - The state waited for, V(stopped) or V(started); RV(acted_on) names the units not in it.
    type: str
    choices: [started, stopped]
    required: true
  wait:
    description:
      - Wait until every unit is in O(state). V(false) only reads (and refuses unknown names).
    type: bool
    default: true
  timeout:
    description:
      - Seconds the units may take to reach O(state), for all of them together (a start of O(settle)
        more). Each C(systemctl) call is ended after 30 seconds (with coreutils C(timeout), when the host
        has it), so a systemd that does not answer fails the task instead of hanging it.
    type: int
    default: 60
  settle:
    description:
      - With O(state=started), seconds a unit must stay C(active) with the same main process and no
        restart to count as running (supervisor's C(startsecs)).
    type: float
    default: 2
  journal_lines:
    description: Journal lines of each late unit given in the failure message.
    type: int
    default: 20
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Reads the units and says which are not in O(state); does not wait.
    support: full
notes:
  - Reads need no root; the journal of a system unit does (or the systemd-journal group).
seealso:
  - module: ansible.builtin.systemd_service
  - module: runbooks.rollback.supervisor_programs
'''

EXAMPLES = r'''
- name: Read which of the units run (acted_on), refusing unknown names
  runbooks.rollback.systemd_units:
    names: [celerybeat, celery-default]
    state: stopped
    wait: false
  register: read

- name: Stop them in order
  ansible.builtin.systemd_service:
    name: "{{ item }}"
    state: stopped
  loop: "{{ read.acted_on }}"

- name: Wait until both are stopped
  runbooks.rollback.systemd_units:
    names: [celerybeat, celery-default]
    state: stopped

- name: Wait until gunicorn runs and still runs 3 seconds later
  runbooks.rollback.systemd_units:
    names: [gunicorn.service]
    state: started
    timeout: 30
    settle: 3
'''

RETURN = r'''
programs:
  description: Each unit of O(names), with its state at the first read and at the end (the same without a wait).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "gunicorn", "unit": "gunicorn.service", "before": "inactive (dead)", "after": "active (running)"}]
acted_on:
  description:
    - The names (as given) not in O(state) at the first read, in order - those a stop or a start acts on.
    - With O(state=stopped) these are the units that run (active, activating, reloading).
  returned: always
  type: list
  elements: str
  sample: [celerybeat, celery-default]
running:
  description:
    - The units of O(names) that run at the end (active and running; the first read without a wait), in order.
    - Not those activating, reloading or in auto-restart (a crash loop), which RV(acted_on) counts as running for a stop.
  returned: always
  type: list
  elements: str
  sample: [gunicorn]
elapsed:
  description: Seconds the wait took.
  returned: always
  type: float
  sample: 2.31
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.systemd import (
    Systemd, SystemdError, read_and_wait)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["started", "stopped"], required=True),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
            settle=dict(type="float", default=2.0),
            journal_lines=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    params = module.params
    systemctl = module.get_bin_path("systemctl", required=False)
    if not systemctl:
        module.fail_json(msg="systemctl is not on the PATH of this host: is systemd its service manager? "
                             "Set rollback_service_manager: supervisor otherwise.")
    journalctl = module.get_bin_path("journalctl", required=False) or "journalctl"
    systemd = Systemd(module.run_command, systemctl, journalctl, module.get_bin_path("timeout", required=False))
    try:
        result = read_and_wait(systemd, params["names"], params["state"], params["timeout"], params["settle"],
                               params["journal_lines"], params["wait"], check_mode=module.check_mode)
    except SystemdError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
