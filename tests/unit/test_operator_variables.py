"""Every variable an operator can set is documented: README table and the prod example inventory."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Facts and registered results named rollback_* that are not operator input.
NOT_INPUT = {"rollback_scope", "rollback_backup"}


def _read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def readme_variable_table() -> str:
    """The README's section "Variables an operator sets", up to the next chapter."""
    return _read("README.md").split("### Variables an operator sets", 1)[1].split("\n## ", 1)[0]


def operator_variables() -> set[str]:
    names = set()
    files = [os.path.join("playbooks", f) for f in os.listdir(os.path.join(ROOT, "playbooks")) if f.endswith(".yml")]
    files += [os.path.join("roles", "phase", "tasks", f) for f in os.listdir(os.path.join(ROOT, "roles", "phase", "tasks"))]
    for path in files:
        text = _read(path)
        # Only names read from the operator: rollback_x | default(...), or required ones used bare.
        names |= set(re.findall(r"\b(rollback_[a-z_]+)\s*\|\s*default\(", text))
        names |= set(re.findall(r"\{\{\s*(rollback_[a-z_]+)\s*\}\}", text))
    return names - NOT_INPUT


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
               "rollback_webhook_url", "rollback_mail_to"}
    missing = sorted(n for n in operator_variables() - per_run if n not in values)
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
