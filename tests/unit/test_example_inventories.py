"""The example inventories (inventories/examples/<shape>, one per layout the README's "Your layout"
names) are valid input: each sets its shape's variables, every rollback_* value it gives passes the
validation decide runs (playbooks/vars/operator_variables.yml) before anything stops, and each of
their app and worker hosts (those of prod, staging and demo too) scans the logs of its own programs."""
from __future__ import annotations

import json
import os
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from playbook_runner import run_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "inventories", "examples")
# What makes each shape what it is.
SHAPES = {
    "systemd": {"rollback_service_manager": "systemd"},
    "pip-no-frontend": {"rollback_backend": "pip", "rollback_build_frontend": False},
    "managed-postgres": {},
    "named-programs": {"rollback_worker_programs": ["celerybeat", "celery-default", "celery-priority"]},
}


def _load(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_every_example_directory_is_a_known_shape():
    assert sorted(os.listdir(EXAMPLES)) == sorted(SHAPES)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_example_sets_its_shape_and_passes_decides_validation(shape):
    values = _load(EXAMPLES, shape, "group_vars", "all.yml")
    for name, value in SHAPES[shape].items():
        assert values[name] == value, (shape, name)
    spec = _load(ROOT, "playbooks", "vars", "operator_variables.yml")["operator_variables_spec"]
    given = {name: value for name, value in values.items() if name.startswith("rollback_")}
    unknown = sorted(set(given) - set(spec))
    assert not unknown, "%s sets variables decide does not know: %s" % (shape, unknown)
    # Required per-run values (the deployment time) come with -e; the example needs only its own.
    relaxed = {name: dict(option, required=False) for name, option in spec.items()}
    result = ArgumentSpecValidator(relaxed).validate(given)
    assert not result.error_messages, (shape, result.error_messages)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_example_has_the_four_groups_with_a_db_host(shape):
    groups = _load(EXAMPLES, shape, "hosts.yml")["all"]["children"]
    assert set(groups) == {"lb", "app", "worker", "db"}
    assert all(groups[name]["hosts"] for name in groups)


def test_the_managed_postgres_example_logs_in_over_tls_with_a_vaulted_password():
    login = _load(EXAMPLES, "managed-postgres", "group_vars", "all.yml")["rollback_db_login"]
    assert login["login_host"] and login["login_user"]
    assert login["login_password"] == "{{ vault_rollback_db_password }}"
    assert login["ssl_mode"] in ("require", "verify-ca", "verify-full")


# Every inventory: the examples, and those of the environments (prod and staging put web and workers on
# separate hosts, the demo one host in every group).
INVENTORIES = ["examples/%s" % shape for shape in sorted(SHAPES)] + ["prod", "staging", "demo"]
# Each app and worker host: the programs it runs (the phase role's phase_host_programs) and the logs its
# verify phase scans (the verify role's verify_log_files), from the inventory and the roles' defaults.
HOST_LOGS_PLAYBOOK = """
- name: The programs and the logs of each app and worker host
  hosts: app:worker
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Read the phase and verify roles' defaults
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop: ["%s", "%s"]
    - name: Say them
      ansible.builtin.debug:
        msg: "HOST {{ {'host': inventory_hostname, 'programs': phase_host_programs, 'logs': verify_log_files} | to_json }}"
""" % (os.path.join(ROOT, "roles", "phase", "defaults", "main.yml"), os.path.join(ROOT, "roles", "verify", "defaults", "main.yml"))


def _stem(name: str) -> str:
    """A program or a log by its name alone: celery-worker.service, celery_worker and celery-worker.log alike."""
    name = os.path.basename(name)
    name = re.sub(r"\.(service|log)$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def host_logs(tmp_path, inventory: str) -> dict:
    run = run_playbook(tmp_path, HOST_LOGS_PLAYBOOK, {}, inventory=os.path.join(ROOT, "inventories", inventory))
    assert run.returncode == 0, run.stdout + run.stderr
    said = [json.loads(json.loads(found)[len("HOST "):])
            for found in re.findall(r'"msg": ("HOST .*")\n', run.stdout)]
    return {entry["host"]: entry for entry in said}


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_each_host_scans_the_logs_of_its_own_programs(tmp_path, inventory):
    # With web and workers on separate hosts, a worker's log listed for an app host fails its verify phase
    # after the site is back (issue 37): each host scans one log per program it runs, no other.
    hosts = host_logs(tmp_path, inventory)
    groups = _load(ROOT, "inventories", inventory, "hosts.yml")["all"]["children"]
    assert set(hosts) == set(groups["app"]["hosts"]) | set(groups["worker"]["hosts"])
    for host, entry in hosts.items():
        assert entry["programs"], (inventory, host)
        assert len(entry["logs"]) == len(set(entry["logs"])), (inventory, host, entry["logs"])
        assert sorted(map(_stem, entry["logs"])) == sorted(map(_stem, entry["programs"])), (inventory, host, entry)


def test_an_app_only_host_of_a_split_inventory_scans_no_worker_log(tmp_path):
    hosts = host_logs(tmp_path, "examples/systemd")
    assert hosts["web1.example.com"]["logs"] == ["/var/log/open-discussions/web.log"]
    assert hosts["worker1.example.com"]["logs"] == ["/var/log/open-discussions/celery-worker.log",
                                                    "/var/log/open-discussions/celery-beat.log"]
