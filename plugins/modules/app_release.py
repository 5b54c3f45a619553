#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: app_release
short_description: Prepare the release to roll back to next to the live one, and switch to it atomically
version_added: 0.2.0
description:
  - Lets a rollback build the last good release while the site still serves, so that behind the maintenance
    page the code is only switched. Two layouts, found from O(path) (O(layout=auto)) or given.
  - V(in_place) - O(path) is the application's git checkout itself, with its virtualenv inside
    (C(/srv/app/.venv)). O(state=prepared) copies it (owners, modes and links kept, C(cp -a)) to
    C(<path>.rollback-<rollback_id>), where the rollback and the build then run. A virtualenv is not
    relocatable (its scripts' shebangs, C(activate) and C(pyvenv.cfg) hold its path), so the copy's virtualenv is
    rewritten to the copy's own path before the copy gets its name - C(pip) or C(poetry) run in the copy install
    into the copy, never into the live checkout's virtualenv - and O(state=relocated) rewrites it to O(path) in
    the virtualenv's C(pyvenv.cfg), scripts, C(.pth), C(.egg-link) and C(direct_url.json) files.
    O(state=switched) then exchanges the two directories with one C(renameat2(RENAME_EXCHANGE)) - there is no
    moment without a checkout at O(path), and every path the programs use (C(/srv/app/.venv/bin/gunicorn),
    C(directory=/srv/app)) is the rolled-back release's. The replaced checkout is kept as
    C(<path>.replaced-<rollback_id>).
  - V(releases) - O(path) is a symlink (C(current)) to a directory of a releases directory, the layout of
    Capistrano, ansistrano and Deployer. O(state=prepared) reuses the release that holds O(commit) (its
    C(git rev-parse HEAD), else its C(REVISION) file), or makes one - a copy of the live release, its virtualenv
    rewritten to the new release's path - to roll it back there. A release made is named as the team's are -
    the current UTC time when every release is named by a time (C(%Y%m%d%H%M%S), Capistrano; C(%Y%m%d%H%M%SZ),
    ansistrano's default), later than the latest; the next number when all are numbers (Deployer); else
    C(rollback-<rollback_id>). The name is recorded in O(journal) before the copy, so a resumed run reuses it.
    O(state=relocated) refuses a release made here that still uses another release - a virtualenv file naming
    one, or a symlink anywhere in it resolving into one (links into C(shared/) or out of the releases directory
    are fine) - since pruning that release would break the site; a reused release is not changed, what it uses
    is reported (RV(foreign), a warning). It also writes the made release's commit to its C(REVISION) file,
    when the release has one. O(state=switched) points the symlink at the release with a new symlink (owned as
    the old one) renamed over the old one (atomic).
  - In both layouts O(state=prepared) records a fingerprint of the live release's virtualenv in O(journal) (every entry's
    type, mode, owner, size, mtime and link target, from C(lstat); no content is read; C(__pycache__) is left
    out, the serving interpreter writes there), and O(state=relocated) refuses, naming what changed, when the
    build ahead changed it while the site served. Only the virtualenv - what the site writes into its own
    release as it serves (uploads, logs) is not the build's.
  - The prepared release is recorded in O(journal) with its inode, so a resumed run knows whether the switch
    already happened, and O(state=absent) removes a release made for the rollback that was not switched to -
    never the live release, never a reused one.
author:
  - runbooks.rollback developers (@runbooks)
options:
  path:
    description: The path the programs use - the checkout (V(in_place)) or the C(current) symlink (V(releases)).
    type: path
    required: true
  rollback_id:
    description:
      - The rollback's id; names the prepared copy (V(in_place); V(releases) when the releases follow no naming
        this module knows) and the copy under way.
    type: str
    required: true
  journal:
    description:
      - The file recording the prepared release (0600). The release role keeps it beside O(path), on its
        filesystem (C(<dir>/.<name>.rollback-<rollback_id>.json)); it stays after the switch, as the record of it.
    type: path
    required: true
  state:
    description:
      - V(prepared) makes or finds the release.
      - V(relocated), once the release is built, checks that the live release was not changed since V(prepared);
        then V(in_place) rewrites the copy's virtualenv path to O(path), V(releases) checks that a release made for
        the rollback uses no file of another release and makes its C(REVISION) name its commit.
      - V(switched) makes it the live one, V(absent) removes a release made for the rollback that was not switched to.
    type: str
    choices: [prepared, relocated, switched, absent]
    default: prepared
  layout:
    description: V(auto) finds it from O(path) (a symlink is V(releases)); a given layout O(path) does not have is refused.
    type: str
    choices: [auto, in_place, releases]
    default: auto
  commit:
    description:
      - The commit (a full id, or a name the live release's git resolves) to look for among the releases
        (V(releases), O(state=prepared)). Without it a new release is always made.
    type: str
  virtualenv:
    description:
      - The virtualenv's directory, relative to the release (O(state=prepared) and O(state=relocated)).
      - A release without it is fine for O(state=prepared) (the backend's install may create it); V(in_place)
        O(state=relocated) refuses a release without it.
    type: str
    default: .venv
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Says what would be copied, rewritten, switched or removed, and changes nothing.
    support: full
notes:
  - The copy and the checkout must be on one filesystem where a directory can be renamed; a directory baked into
    a container image's lower overlay layer cannot be (EXDEV) - the switch then fails before changing anything.
  - Run as root (the copy sits next to the checkout, whose parent is usually not the application user's).
seealso:
  - module: ansible.builtin.file
  - name: ansistrano's symlink strategy
    description: The release-directory layout this module switches in one rename.
    link: https://github.com/ansistrano/deploy
'''

EXAMPLES = r'''
- name: Copy the checkout next to itself, to roll it back there while the site serves
  runbooks.rollback.app_release:
    path: /srv/open-discussions
    rollback_id: "20261203T0712Z"
    journal: /srv/.open-discussions.rollback-20261203T0712Z.json
  register: release

- name: Once it is built, check the live checkout was not changed and point the copy's virtualenv at its path
  runbooks.rollback.app_release:
    path: /srv/open-discussions
    rollback_id: "20261203T0712Z"
    journal: /srv/.open-discussions.rollback-20261203T0712Z.json
    state: relocated

- name: Behind the maintenance page, exchange the two directories
  runbooks.rollback.app_release:
    path: /srv/open-discussions
    rollback_id: "20261203T0712Z"
    journal: /srv/.open-discussions.rollback-20261203T0712Z.json
    state: switched

- name: Reuse the release of v1.4.0 under /srv/app/releases, or make one (its virtualenv its own)
  runbooks.rollback.app_release:
    path: /srv/app/current
    layout: releases
    commit: v1.4.0
    rollback_id: "20261203T0712Z"
    journal: /srv/app/.current.rollback-20261203T0712Z.json
'''

RETURN = r'''
layout:
  description: V(in_place) or V(releases).
  returned: success
  type: str
  sample: in_place
release:
  description:
    - The prepared release's directory (before the switch; for V(in_place) its content is at O(path) after).
    - When O(state=absent) fails, the release the journal records (what is left to remove by hand); null when the
      journal records none or cannot be read.
  returned: success, and on failure of O(state=absent)
  type: str
  sample: /srv/open-discussions.rollback-20261203T0712Z
reused:
  description: V(releases) - an existing release held O(commit) and is switched to as it is.
  returned: O(state=prepared)
  type: bool
  sample: false
created:
  description:
    - The release was made for this rollback (a copy), so O(state=absent) may remove it; false for a reused release.
  returned: O(state=prepared)
  type: bool
  sample: true
previous:
  description: Where the replaced release is after the switch (V(in_place) - the kept checkout; V(releases) - the old target).
  returned: O(state=switched)
  type: str
  sample: /srv/open-discussions.replaced-20261203T0712Z
commit:
  description: The commit at O(path) after the switch (C(git rev-parse HEAD), else its C(REVISION) file; empty if neither).
  returned: O(state=switched)
  type: str
  sample: 851981abf7bf0b5c4e0c4b0e8e9e6d1e0b0c6a3f
switched_before:
  description: An earlier run of this rollback already switched (a resume).
  returned: O(state=switched)
  type: bool
  sample: true
rewritten:
  description: The virtualenv files whose path was rewritten.
  returned: O(state=relocated)
  type: list
  elements: str
  sample: [/srv/open-discussions.rollback-20261203T0712Z/.venv/bin/gunicorn]
revision:
  description:
    - V(releases) - the commit written to the C(REVISION) file of the release made for the rollback; empty when
      it has no such file or it already named the commit.
  returned: O(state=relocated)
  type: str
  sample: 851981abf7bf0b5c4e0c4b0e8e9e6d1e0b0c6a3f
foreign:
  description:
    - V(releases) - what in a reused release uses another release (a made release that does is refused).
  returned: O(state=relocated)
  type: list
  elements: str
  sample: [/srv/app/releases/20261120100000/public/static (a link to /srv/app/releases/20261101120000/public/static)]
removed:
  description: What O(state=absent) removed.
  returned: O(state=absent)
  type: list
  elements: str
  sample: [/srv/open-discussions.rollback-20261203T0712Z]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.release import (
    ReleaseError, after_build, drop, git_head, journal_release, prepare, switch)


def left_behind(params):
    """A removal that failed names the release its journal records: what is left to remove by hand."""
    if params["state"] != "absent":
        return {}
    return {"release": journal_release(params["journal"])}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            rollback_id=dict(type="str", required=True),
            journal=dict(type="path", required=True),
            state=dict(type="str", choices=["prepared", "relocated", "switched", "absent"], default="prepared"),
            layout=dict(type="str", choices=["auto", "in_place", "releases"], default="auto"),
            commit=dict(type="str"),
            virtualenv=dict(type="str", default=".venv"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"].rstrip("/") or "/"
    if not params["rollback_id"] or "/" in params["rollback_id"]:
        module.fail_json(msg="rollback_id %r cannot name a directory." % params["rollback_id"])
    try:
        if params["state"] == "prepared":
            result = prepare(module.run_command, path, params["rollback_id"], params["journal"], params["layout"],
                             params["commit"], module.check_mode, params["virtualenv"])
        elif params["state"] == "relocated":
            result = after_build(module.run_command, path, params["journal"], params["virtualenv"], module.check_mode)
            if result["foreign"]:
                # Only a reused release (the team's own, left as it is) gets here with some.
                module.warn("%s uses files of other releases; removing those would break it once it is live: %s"
                            % (result["release"], ", ".join(result["foreign"][:10])))
        elif params["state"] == "switched":
            result = switch(path, params["journal"], module.check_mode)
            # The commit the programs will run (one round trip less while the site is down).
            result["commit"] = git_head(module.run_command, path) or ""
        else:
            result = drop(path, params["journal"], module.check_mode)
    except ReleaseError as exc:
        module.fail_json(msg=str(exc), **left_behind(params))
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: %s (%s)" % (params["state"], exc, getattr(exc, "filename", "")), **left_behind(params))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
