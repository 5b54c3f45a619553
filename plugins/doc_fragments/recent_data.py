# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Which tables hold rows created since the deployment (data_loss_report, recent_data_export).
    DOCUMENTATION = r'''
options:
  since:
    description:
      - Rows with a timestamp at or after this time (the deployment) are taken. ISO 8601 with a zone,
        or epoch seconds.
    type: str
    required: true
  tables:
    description:
      - Tables and the timestamp column that says when a row was created.
      - Default covers C(auth_user.date_joined) (label C(users)) and C(course_catalog_podcast.created_on)
        (label C(podcasts)).
    type: list
    elements: dict
    suboptions:
      table:
        description: Table name, as it is (quotes and spaces allowed; no quoting needed).
        type: str
        required: true
      schema:
        description: Schema of the table.
        type: str
        default: public
      timestamp_column:
        description: Column holding the creation time.
        type: str
        required: true
      label:
        description: Name used in counts and reports. Defaults to the table name.
        type: str
      where:
        description:
          - Extra SQL condition ANDed to the time condition. Trusted operator input, passed as SQL;
            one condition, no C(;).
        type: str
      model:
        description:
          - Django model label (C(app.model)) for the V(django_fixture) export. Default derived from the
            table name (C(auth_user) to C(auth.user), C(course_catalog_podcast) to C(course_catalog.podcast)).
        type: str
  discover:
    description:
      - Also take every base table having a timestamp column named in O(discover_columns).
        Entries of O(tables) win for the same table.
    type: bool
    default: false
  discover_columns:
    description: Column names that mark a creation time, in order of preference.
    type: list
    elements: str
    default: [created_on, date_joined, created_at]
'''
