"""The verify role's log scan (tasks_from: logs, as playbooks/verify.yml enters it) through real ansible-playbook
runs on localhost, placed in groups by an inventory file: each host scans the logs of its groups' programs."""
from __future__ import annotations

import json

from playbook_runner import run_playbook

PLAYBOOK = """
- name: Verify the logs
  hosts: app:worker
  gather_facts: false
  tasks:
    - name: Look for error lines since the restart
      ansible.builtin.include_role:
        name: runbooks.rollback.verify
        tasks_from: logs
    - name: Write down what was scanned
      ansible.builtin.copy:
        content: "{{ verify_log_errors | to_json }}"
        dest: "{{ scanned_file }}"
        mode: "0600"
"""
SINCE = "2026-11-24T10:00:00+00:00"
# Today's default list: an all-in-one host (app and worker) with the defaults still scans these, in this order.
STAND_IN_LOGS = ["/var/log/open-discussions/web.log", "/var/log/open-discussions/celery_worker.log",
                 "/var/log/open-discussions/celery_beat.log"]


def scan(tmp_path, groups, **extra):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n" + "".join(
        "    %s:\n      hosts:\n        localhost:\n" % group for group in groups))
    scanned = tmp_path / "scanned.json"
    extra_vars = {"verify_log_since": SINCE, "ansible_become_method": "su", "scanned_file": str(scanned)}
    extra_vars.update(extra)
    run = run_playbook(tmp_path, PLAYBOOK, extra_vars, inventory=str(inventory))
    return run, json.loads(scanned.read_text()) if scanned.exists() else None


def web_log(tmp_path):
    log = tmp_path / "web.log"
    log.write_text("2026-11-24 09:59:00,001 ERROR before the restart, not counted\n"
                   "2026-11-24 10:01:00,001 ERROR django.request Internal Server Error: /c/general/\n")
    return str(log)


def test_an_app_only_host_scans_the_app_logs_and_not_the_workers_it_does_not_have(tmp_path):
    run, scanned = scan(tmp_path, ["app"], rollback_max_log_errors=1,
                        rollback_app_log_files=[web_log(tmp_path)],
                        rollback_worker_log_files=[str(tmp_path / "celery_worker.log"),
                                                   str(tmp_path / "celery_beat.log")])
    assert run.returncode == 0, run.stdout + run.stderr
    assert scanned["per_file"] == {str(tmp_path / "web.log"): 1}
    assert scanned["missing"] == []


def test_a_missing_app_log_fails_naming_rollback_app_log_files(tmp_path):
    missing = str(tmp_path / "gunicorn.log")
    run, _scanned = scan(tmp_path, ["app"], rollback_app_log_files=[missing],
                         rollback_worker_log_files=[str(tmp_path / "celery_worker.log")])
    assert run.returncode != 0
    assert "localhost has no log file %s" % missing in run.stdout
    assert "rollback_app_log_files, scanned on the hosts of group app, lists %s: fix the path" % missing in run.stdout
    assert "group_vars/all.yml" in run.stdout and "rollback_log_files_missing_ok: true" in run.stdout
    assert "rollback_worker_log_files" not in run.stdout
    # The inventory's names, not the module's option.
    assert "missing_ok=true" not in run.stdout


def test_a_worker_log_in_the_common_list_on_an_app_host_says_where_it_belongs(tmp_path):
    missing = str(tmp_path / "celery_worker.log")
    run, _scanned = scan(tmp_path, ["app"], rollback_log_files=[web_log(tmp_path), missing],
                         rollback_max_log_errors=1)
    assert run.returncode != 0
    assert "rollback_log_files, scanned on every app and worker host, lists %s: " % missing in run.stdout
    assert "one of celery in rollback_worker_log_files" in run.stdout


def test_missing_ok_skips_a_missing_log_and_says_so(tmp_path):
    missing = str(tmp_path / "gunicorn.log")
    run, scanned = scan(tmp_path, ["app"], rollback_app_log_files=[missing], rollback_log_files_missing_ok=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert scanned["missing"] == [missing]
    assert "localhost has no log file %s: skipped." % missing in run.stdout


def test_an_all_in_one_host_with_the_defaults_scans_todays_list(tmp_path):
    # The stand-in's logs are not on this machine: skipped, and named in the order they were scanned.
    run, scanned = scan(tmp_path, ["app", "worker"], rollback_log_files_missing_ok=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert scanned["missing"] == STAND_IN_LOGS


def test_a_worker_only_host_with_the_defaults_scans_the_celery_logs(tmp_path):
    run, scanned = scan(tmp_path, ["worker"], rollback_log_files_missing_ok=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert scanned["missing"] == STAND_IN_LOGS[1:]


def test_an_inventory_that_lists_its_logs_in_rollback_log_files_scans_those_alone(tmp_path):
    # As before the per-group lists: no stand-in default is added to its own list.
    run, scanned = scan(tmp_path, ["app", "worker"], rollback_log_files=[web_log(tmp_path)],
                        rollback_max_log_errors=1)
    assert run.returncode == 0, run.stdout + run.stderr
    assert scanned["per_file"] == {str(tmp_path / "web.log"): 1} and scanned["missing"] == []


def test_a_log_in_two_lists_is_scanned_once(tmp_path):
    log = web_log(tmp_path)
    run, scanned = scan(tmp_path, ["app", "worker"], rollback_log_files=[log], rollback_app_log_files=[log],
                        rollback_worker_log_files=[log], rollback_max_log_errors=1)
    assert run.returncode == 0, run.stdout + run.stderr
    assert scanned["count"] == 1
