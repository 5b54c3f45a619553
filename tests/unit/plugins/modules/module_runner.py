"""Run a module's main() in-process with real arguments and return its JSON result."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args


def run_module(module, args: dict, capsys) -> tuple[dict, bool]:
    """Call ``module.main()`` with ``args``; return (result, failed)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    return result, bool(result.get("failed"))
