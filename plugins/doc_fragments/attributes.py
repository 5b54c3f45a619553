# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The attributes every module of the collection has (as community.general.attributes). A module
    # gives its check mode support, and its own description where it says more than this one:
    #   attributes:
    #     check_mode:
    #       description: Counts the rows and reports the files it would write; writes nothing.
    #       support: full
    # No module of the collection returns a diff.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return the changed status it predicts without changing the target.
  diff_mode:
    description: Returns no diff.
    support: none
'''
