"""The roles talk through declared interfaces: every entry point another role or a playbook enters is
declared in the callee's argument spec, every phase playbook runs through the phase scaffold, and the
playbooks read other hosts' results only through the roles' declared result facts."""
from __future__ import annotations

import os
import re

import yaml
from repo_yaml import walk, yaml_files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "runbooks.rollback."
# The result facts the roles publish (documented in docs/reference.md, "Results").
RESULTS = {"db_rollback_result", "preflight_result", "code_rollback_result", "app_rebuild_result",
           "verify_result", "data_recovery_result", "monitoring_result", "decision_result", "celery_result",
           "release_result", "communicate_result", "services_result"}


def _load(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def role_entries():
    """(file, role, entry point) of every include_role/import_role and every phase step."""
    found = []
    for path in yaml_files("playbooks", "roles", os.path.join("molecule", "resources", "playbooks")):
        for node in walk(yaml.safe_load(_load(path))):
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
        runs = [node for node in walk(plays) if isinstance(node.get("ansible.builtin.include_role"), dict)
                and node["ansible.builtin.include_role"] == {"name": "runbooks.rollback.phase", "tasks_from": "run"}]
        assert len(runs) == 1, "%s: one phase, run by runbooks.rollback.phase tasks_from=run" % name
        # The bookkeeping is the scaffold's: no playbook records a start or an end or rescues itself.
        assert "rescue:" not in _load("playbooks", name), name
        assert all(play.get("roles") == ["runbooks.rollback.rollback"] for play in plays), name


def test_the_phase_titles_are_numbered_in_the_order_they_run():
    titles = re.findall(r"- name: Phase (\d+) - ", _load("playbooks", "rollback.yml"))
    assert [int(number) for number in titles] == list(range(12))


# Keys whose value is a Jinja expression without braces.
CONDITIONALS = {"when", "that", "failed_when", "changed_when", "until"}
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")), key=len, reverse=True)
# Another host's facts: hostvars[h].x, hostvars[h]['x'], hostvars[h].get('x'), map('extract', hostvars, 'x').
HOSTVARS = re.compile(r"hostvars\[(?:[^\[\]]|\[[^\[\]]*\])+\](?:\.get\(['\"](\w+)['\"]|\[['\"](\w+)['\"]\]|\.(\w+))"
                      r"|map\(\s*'extract',\s*hostvars,\s*'(\w+)'\s*\)")
# map('extract', hostvars) gives every host's facts: the filters after it read them by name until a
# map(attribute=...) picks one (its first segment), e.g. | selectattr('x', 'defined') | map(attribute='x').
EXTRACT = re.compile(r"map\(\s*'extract',\s*hostvars\s*\)")
CHAIN = re.compile(r"\s*\|\s*(selectattr|rejectattr|map)\(\s*(?:attribute=)?'([\w.]+)'[^|]*")
BRACES = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)


def _expressions(node, key=None):
    """The Jinja expressions of a parsed YAML document: what {{ }} and {% %} hold in every string, and the
    conditionals' values whole (keys are names given, not read)."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _expressions(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _expressions(value, key)
    elif isinstance(node, str):
        if key in CONDITIONALS:
            yield node
        for inside in BRACES.findall(node):
            yield inside[0] or inside[1]


def _owner(path):
    """The role a file belongs to (roles/<role>/...), None for a playbook."""
    parts = path.split("/")
    return parts[1] if parts[0] == "roles" else None


def hostvars_reads(path, text):
    """The facts of other hosts that the YAML ``text`` of ``path`` reads."""
    reads = []
    for expression in _expressions(yaml.safe_load(text)):
        for match in HOSTVARS.finditer(expression):
            reads.append(next(group for group in match.groups() if group))
        for match in EXTRACT.finditer(expression):
            rest = expression[match.end():]
            link = CHAIN.match(rest)
            while link:
                reads.append(link.group(2).split(".")[0])
                if link.group(1) == "map":
                    break
                rest = rest[link.end():]
                link = CHAIN.match(rest)
    return reads


def undeclared_hostvars_reads(path, text):
    """Other hosts' facts read that are not a declared result: a role reads its own facts, every file the
    operator variables (the rollback role's, from the inventory) and Ansible's."""
    owner = _owner(path)
    return [fact for fact in hostvars_reads(path, text) if fact not in RESULTS
            and not (owner and fact.startswith(owner + "_")) and not fact.startswith(("rollback_", "ansible_"))]


def _options(role):
    """Every option of every entry point of ``role``: what a caller gives it."""
    specs = yaml.safe_load(_load("roles", role, "meta", "argument_specs.yml"))["argument_specs"]
    return {name for spec in specs.values() for name in (spec.get("options") or {})}


def other_roles_variables(path, text):
    """The variables of another role that the YAML ``text`` of a role's file ``path`` reads, other than its
    options (given to it by the caller), its declared result and the operator variables: its registers and
    facts."""
    owner, reads = _owner(path), []
    names = re.compile(r"(?<![\w.])(%s)_\w+" % "|".join(ROLES))
    for expression in _expressions(yaml.safe_load(text)):
        # Names in quotes are data (program names, messages), not variables.
        code = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expression)
        for match in names.finditer(code):
            role, name = match.group(1), match.group(0)
            if role not in (owner, "rollback") and name not in RESULTS and name not in _options(role):
                reads.append(name)
    return reads


def test_the_reads_of_other_roles_state_are_found_in_every_form():
    text = """
- name: Read
  ansible.builtin.debug:
    msg: >-
      {{ hostvars[groups['lb'][0]].services_a }} {{ hostvars[h]['services_b'] }} {{ hostvars[h].get('services_c') }}
      {{ groups['app'] | map('extract', hostvars, 'services_d') | list }}
      {{ groups['lb'] | map('extract', hostvars) | selectattr('services_e', 'defined')
         | map(attribute='services_e') | selectattr('inside', 'defined') | list }}
      {{ groups['lb'] | map('extract', hostvars) | map(attribute='services_f.inside') | list }}
      {{ groups['lb'] | map('extract', hostvars) | rejectattr('phase_g', 'defined') | list }}
  when: services_h.running and 'services_not_a_variable' in x
"""
    assert hostvars_reads("roles/phase/tasks/x.yml", text) == [
        "services_a", "services_b", "services_c", "services_d", "services_e", "services_e", "services_f", "phase_g"]
    assert undeclared_hostvars_reads("roles/phase/tasks/x.yml", text) == [
        "services_a", "services_b", "services_c", "services_d", "services_e", "services_e", "services_f"]
    assert other_roles_variables("roles/phase/tasks/x.yml", text) == ["services_h"]
    # The services role's own facts; another role's options (given to it) and declared results.
    assert other_roles_variables("roles/services/tasks/x.yml", text) == []
    assert other_roles_variables("roles/phase/tasks/x.yml", "- when: services_programs and services_result") == []


def test_playbooks_and_roles_read_other_hosts_only_through_declared_results():
    reads = {(path, fact) for path in yaml_files("playbooks", "roles") for fact in hostvars_reads(path, _load(path))}
    assert ("playbooks/build_ahead.yml", "release_result") in reads and (
        "roles/phase/tasks/rescue.yml", "phase_failed") in reads, "the walk misses reads of other hosts' facts"
    undeclared = sorted({(path, fact) for path in yaml_files("playbooks", "roles")
                         for fact in undeclared_hostvars_reads(path, _load(path))})
    assert not undeclared, "read a role's declared result fact instead: %s" % undeclared


def test_roles_read_other_roles_only_through_declared_results():
    leaks = sorted({(path, name) for path in yaml_files("roles") for name in other_roles_variables(path, _load(path))})
    assert not leaks, "publish what callers need in the role's declared *_result fact and read that: %s" % leaks


def test_each_declared_result_is_published_by_its_role():
    for fact in RESULTS:
        role = fact[: -len("_result")]
        texts = "".join(_load(path) for path in yaml_files(os.path.join("roles", role, "tasks")))
        assert re.search(r"(register: %s\b|^\s+%s:)" % (fact, fact), texts, re.MULTILINE), fact
        assert "`%s`" % fact in _load("docs", "reference.md"), "document %s in docs/reference.md" % fact
