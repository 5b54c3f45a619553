"""tools/dockerhost.py takes the Debian mirror debootstrap uses from the machine's own apt sources."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))

import dockerhost  # noqa: E402  pylint: disable=wrong-import-position

DEB822 = """Types: deb
# a comment
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
"""


def apt_dir(tmp_path, sources=None, lists=None):
    (tmp_path / "sources.list.d").mkdir()
    for name, text in (sources or {}).items():
        (tmp_path / "sources.list.d" / name).write_text(text)
    if lists is not None:
        (tmp_path / "sources.list").write_text(lists)
    return tmp_path


def test_the_first_debian_archive_of_the_deb822_sources_not_security_nor_source(tmp_path):
    assert dockerhost.apt_mirror(apt_dir(tmp_path, {"debian.sources": DEB822})) == "http://mirror.example/debian"


def test_a_disabled_stanza_is_passed_over(tmp_path):
    text = "Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\n\n" + DEB822
    assert dockerhost.apt_mirror(apt_dir(tmp_path, {"a.sources": text})) == "http://mirror.example/debian"


def test_one_line_sources_list_with_options(tmp_path):
    lists = ("# deb http://commented.example/debian bookworm main\n"
             "deb http://security.example/debian-security bookworm-security main\n"
             "deb [signed-by=/usr/share/keyrings/k.gpg] http://line.example/debian bookworm main\n")
    assert dockerhost.apt_mirror(apt_dir(tmp_path, lists=lists)) == "http://line.example/debian"


def test_no_source_gives_none(tmp_path):
    assert dockerhost.apt_mirror(apt_dir(tmp_path)) is None
    assert dockerhost.apt_mirror(tmp_path / "missing") is None
