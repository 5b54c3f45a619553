"""The checkout's YAML files, read as the interface tests read them: one place for the walk."""
from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def read(path: str) -> str:
    """A file of the checkout, by its path relative to the checkout."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return handle.read()


def yaml_files(*tops: str):
    """The .yml files below these folders of the checkout, as paths relative to it, in a stable order."""
    for top in tops:
        for folder, _dirs, names in sorted(os.walk(os.path.join(ROOT, top))):
            for name in sorted(names):
                if name.endswith(".yml"):
                    yield os.path.relpath(os.path.join(folder, name), ROOT)


def walk(node):
    """Every mapping in a loaded YAML document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)
