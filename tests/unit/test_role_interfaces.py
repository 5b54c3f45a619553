"""The roles talk through declared interfaces: every entry point another role or a playbook enters is
declared in the callee's argument spec, every phase playbook runs through the phase scaffold, and the
playbooks read other hosts' results only through the roles' declared result facts."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "runbooks.rollback."
# The result facts the roles publish (documented in docs/reference.md, "Results").
RESULTS = {"db_rollback_result", "preflight_result", "code_rollback_result", "app_rebuild_result",
           "verify_result", "data_recovery_result", "monitoring_result", "decision_result", "celery_result",
           "release_result", "communicate_result", "services_result"}


def _load(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def _yaml_files(*top):
    for base in top:
        for folder, _dirs, names in os.walk(os.path.join(ROOT, base)):
            for name in sorted(names):
                if name.endswith(".yml"):
                    yield os.path.relpath(os.path.join(folder, name), ROOT)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def role_entries():
    """(file, role, entry point) of every include_role/import_role and every phase step."""
    found = []
    for path in _yaml_files("playbooks", "roles", os.path.join("molecule", "resources", "playbooks")):
        for node in _walk(yaml.safe_load(_load(path))):
            for key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                call = node.get(key)
                if isinstance(call, dict) and "{{" not in call["name"]:
                    found.append((path, call["name"], call.get("tasks_from", "main")))
            if isinstance(node.get("phase_steps"), list):
                for step in node["phase_steps"]:
                    found.append((path, step["role"], step.get("tasks_from", "main")))
    return found


def test_the_walk_finds_the_role_calls():
    entries = role_entries()
    assert ("playbooks/stop.yml", "runbooks.rollback.services", "stop") in entries
    assert ("roles/preflight/tasks/code.yml", "runbooks.rollback.code_rollback", "preflight") in entries


def test_every_entry_point_entered_is_declared_in_the_callee_argument_spec():
    missing = []
    for path, role, entry in role_entries():
        assert role.startswith(PREFIX), "%s: use the role's FQCN: %s" % (path, role)
        short = role[len(PREFIX):]
        assert os.path.exists(os.path.join(ROOT, "roles", short, "tasks", entry + ".yml")), (path, role, entry)
        specs = yaml.safe_load(_load("roles", short, "meta", "argument_specs.yml"))["argument_specs"]
        if entry not in specs:
            missing.append("%s enters %s:%s" % (path, short, entry))
    assert not missing, "declare these entry points in the callee's meta/argument_specs.yml: %s" % missing


def test_every_phase_playbook_runs_through_the_phase_scaffold():
    imported = re.findall(r"import_playbook: (\w+\.yml)", _load("playbooks", "rollback.yml"))
    assert len(imported) == 12
    for name in imported:
        if name == "report.yml":
            continue
        plays = yaml.safe_load(_load("playbooks", name))
        runs = [node for node in _walk(plays) if isinstance(node.get("ansible.builtin.include_role"), dict)
                and node["ansible.builtin.include_role"] == {"name": "runbooks.rollback.phase", "tasks_from": "run"}]
        assert len(runs) == 1, "%s: one phase, run by runbooks.rollback.phase tasks_from=run" % name
        # The bookkeeping is the scaffold's: no playbook records a start or an end or rescues itself.
        assert "rescue:" not in _load("playbooks", name), name
        assert all(play.get("roles") == ["runbooks.rollback.rollback"] for play in plays), name


def test_the_phase_titles_are_numbered_in_the_order_they_run():
    titles = re.findall(r"- name: Phase (\d+) - ", _load("playbooks", "rollback.yml"))
    assert [int(number) for number in titles] == list(range(12))


def test_playbooks_read_other_hosts_only_through_declared_results():
    reads = []
    for path in _yaml_files("playbooks"):
        for match in re.finditer(r"hostvars\[[^\]]+\]\]?\.(\w+)|map\('extract', hostvars, '(\w+)'\)", _load(path)):
            reads.append((path, match.group(1) or match.group(2)))
    assert reads, "the walk found no read of another host's facts"
    undeclared = sorted({read for read in reads if read[1] not in RESULTS})
    assert not undeclared, "read a role's declared result fact instead: %s" % undeclared


def test_each_declared_result_is_published_by_its_role():
    for fact in RESULTS:
        role = fact[: -len("_result")]
        texts = "".join(_load(path) for path in _yaml_files(os.path.join("roles", role, "tasks")))
        assert re.search(r"(register: %s\b|^\s+%s:)" % (fact, fact), texts, re.MULTILINE), fact
        assert "`%s`" % fact in _load("docs", "reference.md"), "document %s in docs/reference.md" % fact
