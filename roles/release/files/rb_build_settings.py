# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Django settings for building a release next to the live one (runbooks.rollback build ahead).

The application's own settings (RB_BASE_SETTINGS), with the paths that name the live checkout
(RB_LIVE_PATH) moved into the release being built (RB_RELEASE_PATH): STATIC_ROOT and
STATICFILES_DIRS. Without it, collectstatic in the copy would read the live release's frontend
and write into the live release's static files while it still serves. With RB_DB_NAME, the
default database is that one (the scratch copy restored ahead, migrated before the stop). Copied
into the release for the build and removed after it.
"""
import os
from importlib import import_module

_BASE = import_module(os.environ["RB_BASE_SETTINGS"])
globals().update(dict((name, value) for name, value in vars(_BASE).items() if name.isupper()))

_LIVE = os.environ["RB_LIVE_PATH"].rstrip("/") + "/"
_RELEASE = os.environ["RB_RELEASE_PATH"].rstrip("/") + "/"


def _moved(value):
    text = str(value)
    if text.startswith(_LIVE):
        return type(value)(_RELEASE + text[len(_LIVE):])
    return value


if globals().get("STATIC_ROOT"):
    STATIC_ROOT = _moved(globals()["STATIC_ROOT"])
STATICFILES_DIRS = [(entry[0], _moved(entry[1])) if isinstance(entry, (list, tuple)) else _moved(entry)
                    for entry in globals().get("STATICFILES_DIRS", [])]

if os.environ.get("RB_DB_NAME"):
    DATABASES = dict(globals()["DATABASES"])
    DATABASES["default"] = dict(DATABASES["default"], NAME=os.environ["RB_DB_NAME"])
