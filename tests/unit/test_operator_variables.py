"""Every variable an operator can set has one default (roles/rollback), is validated by decide, and is
documented: docs/variables.md and the prod example inventory."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Facts and registered results named rollback_* that are not operator input.
NOT_INPUT = {"rollback_scope", "rollback_backup", "rollback_run_id"}


def _read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def readme_variable_table() -> str:
    """The section "Variables an operator sets" of docs/variables.md (the README links it), up to the next
    heading of its level or above."""
    section = _read("docs", "variables.md").split("### Variables an operator sets", 1)[1]
    return re.split(r"\n#{1,3} ", section, maxsplit=1)[0]


def operator_defaults() -> dict:
    """roles/rollback: the one place that gives every operator variable its default."""
    return yaml.safe_load(_read("roles", "rollback", "defaults", "main.yml"))


def _yaml_files(*top: str):
    for base in top:
        for folder, _dirs, names in os.walk(os.path.join(ROOT, base)):
            for name in names:
                if name.endswith(".yml"):
                    yield os.path.relpath(os.path.join(folder, name), ROOT)


def operator_variables() -> set[str]:
    """The operator variables: those with a default in roles/rollback, and those the playbooks and
    roles read without one (required, or rollback_id named by decide)."""
    names = set(operator_defaults())
    for path in _yaml_files("playbooks", "roles"):
        text = _read(path)
        names |= set(re.findall(r"\b(rollback_[a-z_]+)\s*\|\s*default\(", text))
        names |= set(re.findall(r"\{\{\s*(rollback_[a-z_]+)\b", text))
    return names - NOT_INPUT


def test_each_operator_default_is_defined_once():
    # No playbook or role gives an operator variable a default of its own: they read roles/rollback.
    # rollback_id (named by decide) and rollback_environment (required) have none on purpose;
    # rollback_run_id is '' outside a rollback, where a role used on its own names its own work.
    own = []
    for path in _yaml_files("playbooks", "roles"):
        if path.startswith(os.path.join("roles", "rollback")):
            continue
        for number, line in enumerate(_read(path).splitlines(), 1):
            for name in re.findall(r"\b(rollback_[a-z_]+)\s*\|\s*default\(", line):
                if name not in ("rollback_id", "rollback_run_id", "rollback_environment"):
                    own.append("%s:%d: %s" % (path, number, line.strip()))
    assert not own, "take these defaults from roles/rollback/defaults/main.yml: %s" % own
    # ... and the literal defaults of the paths and names appear there only.
    for literal in ("/var/lib/runbooks-rollback", "/backups/rollback", "/srv/open-discussions", "/backups/postgresql"):
        found = [path for path in _yaml_files("playbooks", "roles") if literal in _read(path)
                 and not path.startswith(os.path.join("roles", "rollback"))]
        assert not found, "%s is spelled as a default in %s" % (literal, found)
    spelled = [path for path in _yaml_files("playbooks", "roles") if re.search(r"\bopen_discussions\b", _read(path))
               and not path.startswith(os.path.join("roles", "rollback"))]
    assert not spelled, "open_discussions is spelled as a default in %s" % spelled


def test_every_role_reading_an_operator_variable_depends_on_the_defaults_role():
    for role in os.listdir(os.path.join(ROOT, "roles")):
        if role == "rollback":
            continue
        texts = "".join(_read(path) for path in _yaml_files(os.path.join("roles", role)))
        if re.search(r"\{\{[^}]*\brollback_[a-z_]+", texts):
            meta = yaml.safe_load(_read("roles", role, "meta", "main.yml"))
            assert {"role": "runbooks.rollback.rollback"} in meta["dependencies"], role


def test_the_playbooks_read_the_variables_we_expect():
    names = operator_variables()
    assert {"rollback_deployed_at", "rollback_on_failure", "rollback_code_target", "rollback_smoke_urls"} <= names


def test_every_operator_variable_is_in_the_readme_table():
    table = readme_variable_table()
    missing = sorted(n for n in operator_variables() if "`%s`" % n not in table)
    assert not missing, "add these to the README's variable table: %s" % missing


def test_the_prod_example_inventory_sets_or_mentions_every_environment_variable():
    text = _read("inventories", "prod", "group_vars", "all.yml")
    values = yaml.safe_load(text)
    per_run = {"rollback_deployed_at", "rollback_scenario", "rollback_symptoms", "rollback_confirm",
               "rollback_override", "rollback_override_reason", "rollback_id", "rollback_code_target",
               "rollback_merge_commit", "rollback_backup_file", "rollback_migrate", "rollback_monitor_urls",
               "rollback_webhook_url", "rollback_allow_repeat_restore", "rollback_detected_at", "rollback_root_cause",
               "rollback_deploy_commit", "rollback_allow_bad_release", "rollback_allow_bad_release_reason"}
    # Set with its value, or mentioned as a commented example (a secret's shape, e.g. rollback_db_login).
    missing = sorted(n for n in operator_variables() - per_run
                     if n not in values and not re.search(r"^# %s:" % n, text, re.MULTILINE))
    assert not missing, "set these (with their default) in inventories/prod/group_vars/all.yml: %s" % missing
    assert values["rollback_environment"] == "prod"


def test_decide_validates_every_operator_variable():
    spec = yaml.safe_load(_read("playbooks", "vars", "operator_variables.yml"))["operator_variables_spec"]
    missing = sorted(operator_variables() - set(spec))
    assert not missing, "add these to playbooks/vars/operator_variables.yml: %s" % missing
    table = readme_variable_table()
    undocumented = sorted(n for n in spec if "`%s`" % n not in table)
    assert not undocumented, "document these in the README's variable table: %s" % undocumented


def test_boolean_operator_variables_are_read_as_booleans_in_conditions():
    # -e rollback_migrate=false gives the string "false", which is true in a condition.
    spec = yaml.safe_load(_read("playbooks", "vars", "operator_variables.yml"))["operator_variables_spec"]
    booleans = [name for name, option in spec.items() if option["type"] == "bool"]
    wrong = []
    for name in os.listdir(os.path.join(ROOT, "playbooks")):
        if not name.endswith(".yml"):
            continue
        for line in _read("playbooks", name).splitlines():
            if "when:" not in line:
                continue
            for variable in booleans:
                for use in re.findall(r"\b%s\b[^a-z_][^|]*(?:\|\s*[a-z_]+(?:\([^)]*\))?\s*)*" % variable, line):
                    if "| bool" not in use:
                        wrong.append("%s: %s" % (name, line.strip()))
    assert not wrong, wrong
