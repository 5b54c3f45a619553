"""Run a module's main() in-process with real arguments and return its JSON result."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as _warnings
from ansible.module_utils.testing import patch_module_args


def run_module(module, args: dict, capsys) -> tuple[dict, bool]:
    """Call ``module.main()`` with ``args``; return (result, failed).

    A real module run is a fresh process; in-process, ansible-core keeps warnings and
    deprecations in module-level registries, so they are emptied first or one test's
    warnings would show up in the next test's result. A test that imports controller
    code (filters, ``ansible.errors``) flags the process as the controller, and modules
    would then send warnings to the display instead of their result: a module never runs
    on the controller's side of that flag, so it is cleared for the run.
    """
    _warnings._global_warnings.clear()  # pylint: disable=protected-access
    _warnings._global_deprecations.clear()  # pylint: disable=protected-access
    was_controller = _internal.is_controller
    _internal.is_controller = False
    try:
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
    finally:
        _internal.is_controller = was_controller
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
