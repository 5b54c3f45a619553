"""The example inventories (inventories/examples/<shape>, one per layout the README's "Your layout"
names) are valid input: each sets its shape's variables, and every rollback_* value it gives
passes the validation decide runs (playbooks/vars/operator_variables.yml) before anything stops."""
from __future__ import annotations

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

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
