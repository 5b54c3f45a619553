"""The argument specs document the defaults that run. Ansible takes a role's defaults from defaults/main.yml
and never from the `default:` of meta/argument_specs.yml, so a spec's default is documentation: it repeats
the value of defaults/main.yml (a template as written there, whitespace aside), or the spec gives no
`default:` and the description says what the default is (the Ansible convention for a computed default)."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Every role depends on this one: its defaults (the operator variables) are defaults of every role.
DEFAULTS_ROLE = "rollback"


def _read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def same(spec_value, default_value) -> bool:
    """The spec's default and the value of defaults/main.yml are the same YAML value; strings (templates
    among them) compared with each run of whitespace made one space, since a spec may fold a long template
    with `>-` that defaults/main.yml writes on one line."""
    if isinstance(spec_value, str) and isinstance(default_value, str):
        return " ".join(spec_value.split()) == " ".join(default_value.split())
    if isinstance(spec_value, list) and isinstance(default_value, list):
        return len(spec_value) == len(default_value) and all(map(same, spec_value, default_value))
    if isinstance(spec_value, dict) and isinstance(default_value, dict):
        return spec_value.keys() == default_value.keys() and all(
            same(spec_value[key], default_value[key]) for key in spec_value)
    return type(spec_value) is type(default_value) and spec_value == default_value


def role_defaults(role: str) -> dict:
    """What runs: the role's defaults/main.yml over those of the rollback role it depends on."""
    values = dict(yaml.safe_load(_read("roles", DEFAULTS_ROLE, "defaults", "main.yml")) or {})
    meta = yaml.safe_load(_read("roles", role, "meta", "main.yml")) or {}
    if {"role": "runbooks.rollback." + DEFAULTS_ROLE} not in (meta.get("dependencies") or []):
        values = {}
    values.update(yaml.safe_load(_read("roles", role, "defaults", "main.yml")) or {})
    return values


def spec_options():
    """(role, entry point, option name, option, the role's defaults) of every top-level option of every
    entry point (options shared through YAML anchors and merge keys included)."""
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        if not os.path.exists(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")):
            continue
        defaults = role_defaults(role)
        specs = yaml.safe_load(_read("roles", role, "meta", "argument_specs.yml"))["argument_specs"]
        for entry, spec in specs.items():
            for name, option in (spec.get("options") or {}).items():
                yield role, entry, name, option, defaults


def _where(role: str, entry: str, name: str) -> str:
    return "roles/%s/meta/argument_specs.yml %s: %s" % (role, entry, name)


MISSING = object()


def documented_defaults():
    """(where, the spec's default, the value that runs or MISSING) of every option with a `default:`, and of
    every sub-option of a dict option (decision_windows) whose value in defaults/main.yml is a dict."""
    for role, entry, name, option, defaults in spec_options():
        value = defaults.get(name, MISSING)
        if "default" in option:
            yield _where(role, entry, name), option["default"], value
        if option.get("type") == "dict" and isinstance(value, dict):
            for sub, sub_option in (option.get("options") or {}).items():
                if "default" in sub_option:
                    yield _where(role, entry, name + "." + sub), sub_option["default"], value.get(sub, MISSING)


def test_same_compares_values_and_only_whitespace_loosely():
    assert same("{{ a if b\n  else c }}", "{{ a if b else c }}")
    assert same([{"table": "t", "label": "x"}], [{"label": "x", "table": "t"}])
    assert not same("{{ groups['worker'] }}", "{{ groups['worker'] | default([]) }}")
    assert not same("2", 2)
    assert not same(False, 0)
    assert not same({}, "")


def test_the_walk_finds_every_entry_point_and_the_shared_options():
    compared = {where for where, _spec, value in documented_defaults() if value is not MISSING}
    assert _where("db_rollback", "main", "db_rollback_jobs") in compared
    # phase's entry points share their first options through a merge key (<<: *common).
    entries = ("end", "start", "rescue", "run", "audit")
    assert {_where("phase", entry, "phase_state_dir") for entry in entries} <= compared
    assert _where("release", "switch", "release_journal") in compared
    assert _where("decision", "main", "decision_windows.fix_forward_from") in compared
    assert len(compared) > 200


def test_an_argument_spec_default_is_the_value_of_defaults_main():
    drifted = ["%s: spec %r, defaults/main.yml %r" % (where, spec, value)
               for where, spec, value in documented_defaults() if value is not MISSING and not same(spec, value)]
    assert not drifted, ("repeat the default of defaults/main.yml, or drop `default:` and say the default in the "
                         "description: %s" % drifted)


def test_an_argument_spec_default_is_one_that_runs():
    # A spec default with no value in defaults/main.yml (nor in roles/rollback) is a default nothing gives.
    unset = [where for where, _spec, value in documented_defaults() if value is MISSING]
    assert not unset, "give these their default in the role's defaults/main.yml: %s" % unset


def _description(option: dict) -> str:
    description = option.get("description", "")
    return " ".join(description) if isinstance(description, list) else str(description)


def test_an_option_without_a_spec_default_says_its_default_in_the_description():
    # The other half of the rule: a default that defaults/main.yml gives and the spec does not repeat is
    # said in words ("by default ...", "Defaults to ..."); a required option's placeholder ("") is no default;
    # a dict option documents its default through its sub-options' defaults.
    silent = [_where(role, entry, name) for role, entry, name, option, defaults in spec_options()
              if name in defaults and "default" not in option and not option.get("required")
              and not re.search(r"\bdefault", _description(option), re.IGNORECASE)
              and not (option.get("options") and all("default" in sub for sub in option["options"].values()))]
    assert not silent, ("repeat the default of defaults/main.yml in `default:`, or say it in the description: %s"
                        % silent)
