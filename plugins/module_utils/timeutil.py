# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Timestamps given by operators: ISO 8601 with a zone, or epoch seconds."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

_EPOCH_RE = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


class TimestampError(ValueError):
    """A timestamp an operator gave cannot be used; the message says why and what to do."""


def parse_timestamp(value, name="timestamp"):
    """Return an aware UTC datetime from ISO 8601 with zone, or epoch seconds (int/float/str).

    A timestamp without a zone is refused: on a 3 a.m. rollback nobody should have to
    guess whether 10:00 meant UTC or the server's local time.
    """
    if isinstance(value, bool) or value is None:
        raise TimestampError("%s: expected an ISO 8601 time with zone or epoch seconds, got %r"
                             % (name, value))
    if isinstance(value, (int, float)) or (isinstance(value, str) and _EPOCH_RE.match(value)):
        try:
            return datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise TimestampError("%s: epoch seconds %r are out of range" % (name, value))
    if not isinstance(value, str):
        raise TimestampError("%s: expected an ISO 8601 time with zone or epoch seconds, got %r"
                             % (name, value))
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.9/3.10 fromisoformat accepts only "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][+HH:MM]".
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise TimestampError("%s: %r is not an ISO 8601 time; write it like "
                             "2026-11-24T10:00:00+00:00 (or ...Z for UTC), or give epoch seconds"
                             % (name, value))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise TimestampError("%s: %r has no time zone; add one (e.g. %s+00:00 or %sZ) so the "
                             "time is not guessed" % (name, value, text, text))
    return parsed.astimezone(datetime.timezone.utc)


def isoformat(moment):
    """ISO 8601 in UTC with a Z, second precision: what the modules return."""
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)
