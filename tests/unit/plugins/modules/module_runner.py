"""Run a module's main() in-process with real arguments and return its JSON result."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.common import warnings as _warnings
from ansible.module_utils.testing import patch_module_args


def run_module(module, args: dict, capsys) -> tuple[dict, bool]:
    """Call ``module.main()`` with ``args``; return (result, failed).

    A real module run is a fresh process; in-process, ansible-core keeps warnings and
    deprecations in module-level registries, so they are emptied first or one test's
    warnings would show up in the next test's result.
    """
    _warnings._global_warnings.clear()  # pylint: disable=protected-access
    _warnings._global_deprecations.clear()  # pylint: disable=protected-access
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    return result, bool(result.get("failed"))


def warning_messages(result: dict) -> list[str]:
    """The texts of a result's warnings (ansible-core 2.19 returns WarningSummary dicts)."""
    messages = []
    for warning in result.get("warnings") or []:
        if isinstance(warning, dict):
            messages.append(warning.get("event", {}).get("msg") or warning.get("msg") or str(warning))
        else:
            messages.append(str(warning))
    return messages
