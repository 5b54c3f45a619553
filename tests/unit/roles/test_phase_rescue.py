"""The rescue of a failed phase undoes what earlier phases left, through the entry point of the role that made
it (the phase role's table phase_leftovers): real ansible-playbook runs on two local hosts, an app host that
built a release ahead (app_release's copy, as the release role makes it) and an lb host, with a state directory
in tmp_path. The database's entry (db_rollback abandon) runs against PostgreSQL in test_db_rollback_tcp.py."""
from __future__ import annotations

import json
import os

from playbook_runner import run_playbook

HERE = os.path.dirname(os.path.abspath(__file__))

PLAYBOOK = """
- name: Build ahead on the app host
  hosts: app:lb
  gather_facts: false
  any_errors_fatal: true
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Run the build ahead
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: build_ahead
        phase_steps:
          - name: Prepare the release next to the live one
            role: test_steps
            tasks_from: prepare
            hosts: "{{ groups['app'] }}"

- name: A later phase fails on the lb host
  hosts: app:lb
  gather_facts: false
  any_errors_fatal: true
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Move the live checkout away, as a switch interrupted between its two renames leaves it
      ansible.builtin.command:
        argv: [mv, "{{ rollback_app_dir }}", "{{ rollback_app_dir }}.moved"]
        creates: "{{ rollback_app_dir }}.moved"
      when: interrupted_switch | bool and inventory_hostname in groups['app']

    - name: Run the failing phase
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: "{{ failing_phase }}"
        phase_on_failure: keep_maintenance
        phase_steps:
          # As the stop phase does it; rollback_maintenance_mode none: only services_result says so.
          - name: Turn maintenance mode on
            role: runbooks.rollback.services
            tasks_from: maintenance_on
            hosts: "{{ groups['lb'] if reach_maintenance | bool else [] }}"
          - name: Fail on the lb host
            role: test_steps
            tasks_from: fail
            hosts: "{{ groups['lb'] }}"
"""


def play(tmp_path, monkeypatch, rollback_id, failing_phase, interrupted_switch=False, reach_maintenance=False):
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", HERE)
    app = tmp_path / "srv" / "app"
    app.mkdir(parents=True)
    (app / "manage.py").write_text("# the live release\n")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    app:\n      hosts:\n        h1:\n    lb:\n      hosts:\n        h2:\n")
    run = run_playbook(tmp_path, PLAYBOOK, {
        "rollback_id": rollback_id, "rollback_environment": "staging", "rollback_state_dir": str(tmp_path / "state"),
        "rollback_app_dir": str(app), "rollback_audit_log": str(tmp_path / "state" / "audit.jsonl"),
        "failing_phase": failing_phase, "interrupted_switch": interrupted_switch,
        "reach_maintenance": reach_maintenance, "rollback_maintenance_mode": "none",
    }, inventory=str(inventory))
    out = run.stdout + run.stderr
    (tmp_path / "run.log").write_text(out)
    assert run.returncode != 0
    assert "Rollback %s stopped in phase %s (h2: task 'Fail on purpose' failed: the step failed on purpose)" % (
        rollback_id, failing_phase) in out, out[-4000:]
    record = json.loads((tmp_path / "state" / ("%s.json" % rollback_id)).read_text())
    assert record["phases"][failing_phase]["status"] == "failed"
    return out, record, app


def resets(record):
    return [(e["phase"], e.get("message")) for e in record["events"] if e["status"] == "reset"]


def test_a_failure_before_the_code_phase_removes_the_release_built_ahead_and_forgets_it(tmp_path, monkeypatch):
    out, record, app = play(tmp_path, monkeypatch, "RB1", "stop")
    assert "TASK [runbooks.rollback.release : Remove the release prepared ahead that was not switched to]" in out
    assert not (tmp_path / "srv" / "app.rollback-RB1").exists()
    assert not (tmp_path / "srv" / ".app.rollback-RB1.json").exists()
    assert (app / "manage.py").read_text() == "# the live release\n"
    assert "build_ahead" not in record["phases"]
    assert resets(record) == [("build_ahead", "the release built ahead was removed after stop failed")]
    assert "Completed phases: none." in out
    # Failing in the stop phase before the maintenance page (no lb host turned it on): the site serves.
    assert "The site still serves: the maintenance page was not turned on." in out
    assert "WARNING" not in out


def test_once_the_code_phase_started_the_release_built_ahead_is_kept(tmp_path, monkeypatch):
    out, record, _app = play(tmp_path, monkeypatch, "RB2", "code")
    assert "runbooks.rollback.release : Remove the release prepared ahead" not in out
    assert (tmp_path / "srv" / "app.rollback-RB2").is_dir()
    assert record["phases"]["build_ahead"]["status"] == "completed" and resets(record) == []
    assert "Completed phases: build_ahead." in out


def test_a_release_that_cannot_be_removed_is_said_and_the_rescue_goes_on_on_every_host(tmp_path, monkeypatch):
    out, record, app = play(tmp_path, monkeypatch, "RB3", "stop", interrupted_switch=True)
    release = tmp_path / "srv" / "app.rollback-RB3"
    # The release role's message, with the release its journal records; the rescue says it as a WARNING.
    assert ("WARNING: the release prepared ahead on h1 could not be removed (%s is missing (a switch was interrupted)"
            % app) in out, out[-6000:]
    assert "a resumed run reuses it, or remove %s by hand." % release in out
    assert release.is_dir()
    # Forgotten all the same: the resume prepares again, finding the copy through its journal.
    assert resets(record) == [("build_ahead", "the release built ahead was removed after stop failed")]
    assert "Completed phases: none." in out
    # One host's failed undo did not take the other host out of the rescue.
    assert "audit.yml for h1, h2" in out, out[-6000:]


def test_failing_in_the_stop_phase_after_the_maintenance_page_says_it_stays_on(tmp_path, monkeypatch):
    # The services role's result (services_result.maintenance_on_at on the lb host) tells the rescue.
    out, _record, _app = play(tmp_path, monkeypatch, "RB4", "stop", reach_maintenance=True)
    assert "The services stay STOPPED with the maintenance page on (rollback_on_failure=keep_maintenance)." in out
    assert "The site still serves" not in out
