"""The README stays a newcomer's page: short, with the first rollback command near the top, and
every relative link pointing at a file that exists."""
from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lines(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read().splitlines()


def test_the_readme_is_under_200_lines_with_the_first_rollback_command_in_its_first_60():
    lines = _lines("README.md")
    assert len(lines) < 200, "README.md has %d lines: move reference to docs/" % len(lines)
    first = next(number for number, line in enumerate(lines, 1) if "ansible-playbook" in line
                 and "playbooks/rollback.yml" in line)
    assert first <= 60, first


def test_no_readme_line_is_longer_than_200_characters():
    long_lines = [number for number, line in enumerate(_lines("README.md"), 1) if len(line) > 200]
    assert not long_lines, long_lines


def test_every_relative_link_of_the_docs_points_at_a_file():
    broken = []
    for doc in ["README.md"] + [os.path.join("docs", name) for name in os.listdir(os.path.join(ROOT, "docs"))]:
        folder = os.path.dirname(os.path.join(ROOT, doc))
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", "\n".join(_lines(doc))):
            if not os.path.exists(os.path.join(folder, target)):
                broken.append("%s -> %s" % (doc, target))
    assert not broken, broken
