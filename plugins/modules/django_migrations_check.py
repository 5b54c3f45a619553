#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: django_migrations_check
short_description: Check that a backup's Django migrations match the code the rollback goes back to
version_added: 0.1.0
description:
  - Run on an application host holding the git checkout, before anything is stopped. Compares the
    C(django_migrations) rows of the backup to restore (RV(runbooks.rollback.pg_backup_info#module:migrations)
    with O(runbooks.rollback.pg_backup_info#module:read_migrations=true)) with the migration files of the
    commit the code is rolled back to, read from git objects (no checkout, nothing written).
  - Migration files are the files C(<dir>/migrations/<name>.py) of the commit (C(git ls-tree -r)), not in a
    subdirectory of C(migrations/), except C(__init__.py) and other names starting with C(_) or C(~) (Django
    skips them). The app label is the
    name of the directory holding C(migrations/), or O(app_labels). The files are read with one
    C(git cat-file --batch) and parsed with Python's C(ast) (never imported) - the C(Migration) class's
    C(replaces) (squashed migrations) and the names of its C(operations).
  - With O(method=reset) the target is O(target). With O(method=revert) it is O(deployed) with O(merge_commit)
    reverted - the files the merge added (relative to its first parent) deleted, the ones it deleted back,
    the ones it changed restored.
  - Checked apps are the app labels with migration files at the target or at the deployed commit; rows of
    other apps (C(django.contrib) ones, third-party apps) are counted in RV(unchecked_apps), not judged.
  - The backup does not match when it has rows the target does not know (RV(unknown_to_target) - the backup
    was taken after the deployment, or the target commit is older than the backup), or when the target has
    migrations the backup lacks that are not additive (RV(not_additive)). Additive operations are
    C(CreateModel), C(AddField), C(AddIndex), C(AlterModelOptions) and C(AlterModelManagers); any other
    operation, an unparseable file or C(operations) that are not a literal list are not additive.
  - A backup row naming a migration that a squashed migration of the target replaces counts as known; a
    squashed migration counts as applied when all the migrations it replaces are.
  - With O(policy=refuse) a mismatch fails, naming the migrations, the backup and the target, with what to do.
    With O(policy=report) it is reported in warnings.
  - git runs as the user running the module, with that user's git configuration. A checkout owned by another
    user is refused by git (dubious ownership); run the task as the checkout's owner (C(become_user)).
  - Read-only; the same in check mode.
author:
  - runbooks.rollback developers (@runbooks)
options:
  repo_dir:
    description: The application's git checkout, or a bare repository.
    type: path
    required: true
  method:
    description:
      - How the code is rolled back. V(reset) resets it to O(target); V(revert) reverts O(merge_commit)
        on O(deployed).
    type: str
    choices: [reset, revert]
    default: reset
  target:
    description:
      - The commit-ish (tag, branch, commit id) the code is reset to. Required with O(method=reset); not
        used with O(method=revert).
    type: str
  merge_commit:
    description:
      - The merge commit of the bad deployment, reverted with O(method=revert) (required then). It must
        be a merge, in the history of O(deployed).
    type: str
  deployed:
    description: The commit-ish deployed now (before the rollback).
    type: str
    default: HEAD
  applied:
    description:
      - The backup's C(django_migrations) rows, each a dict with C(app) and C(name) (as
        RV(runbooks.rollback.pg_backup_info#module:migrations) returns them) or a string C(app.name),
        split at the first dot (app labels have none). A two-item list C([app, name]) is taken too.
      - An empty list (a backup without C(django_migrations)) fails with O(policy=refuse) and is warned
        about with O(policy=report). Pass C(backup.migrations | default([], true)) when
        M(runbooks.rollback.pg_backup_info) returned null.
    type: list
    elements: raw
    required: true
  app_labels:
    description:
      - Directory of an app (its path in the repository, e.g. V(src/channels)) to its Django app label,
        for apps whose C(AppConfig.label) differs from the directory name.
    type: dict
    default: {}
  policy:
    description:
      - What a mismatch does. V(refuse) fails the task; V(report) returns the findings with RV(ok=false)
        and warnings.
    type: str
    choices: [refuse, report]
    default: refuse
  backup_label:
    description: How to name the backup in messages (usually its path).
    type: str
notes:
  - The migrations' dependencies are not followed and no Django code is run; the check compares names and
    reads operations only.
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Read-only; runs fully in check mode, with the same result.
    support: full
seealso:
  - module: runbooks.rollback.pg_backup_info
'''

EXAMPLES = r'''
- name: Read the migrations of the backup to restore
  runbooks.rollback.pg_backup_info:
    path: "{{ rollback_backup_file }}"
    read_migrations: true
  register: backup
  delegate_to: "{{ groups['db'][0] }}"
  run_once: true

- name: Refuse a backup that does not match the commit rolled back to (before anything is stopped)
  runbooks.rollback.django_migrations_check:
    repo_dir: /srv/open-discussions
    target: "{{ rollback_code_target }}"
    applied: "{{ backup.migrations | default([], true) }}"
    backup_label: "{{ backup.path }}"
    policy: "{{ rollback_migration_policy | default('refuse') }}"
  become: true
  become_user: open-discussions
  run_once: true

- name: Same for a rollback that reverts the merge of the bad deployment
  runbooks.rollback.django_migrations_check:
    repo_dir: /srv/open-discussions
    method: revert
    merge_commit: v1.5.0
    applied: ["auth.0001_initial", "channels.0001_initial", "notifications.0001_initial"]
    app_labels:
      src/search: od_search
  become: true
  become_user: open-discussions
'''

RETURN = r'''
ok:
  description:
    - Whether the backup matches the target - RV(unknown_to_target) and RV(not_additive) empty, and
      O(applied) not empty.
  returned: always
  type: bool
  sample: false
target_commit:
  description:
    - Full id of the target commit. With O(method=revert), the first parent of O(merge_commit) (the tree
      the revert brings the merge's files back to).
  returned: success
  type: str
  sample: 8c1f0b3e2a9d4c5b6a7f8e9d0c1b2a3f4e5d6c7b
deployed_commit:
  description: Full id of O(deployed).
  returned: success
  type: str
  sample: 1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e
merge_commit:
  description: Full id of O(merge_commit) with O(method=revert); null with O(method=reset).
  returned: success
  type: str
  sample: 1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e
checked_apps:
  description: App labels with migration files at the target or at the deployed commit, sorted.
  returned: success
  type: list
  elements: str
  sample: [channels, course_catalog, notifications, search]
unchecked_apps:
  description:
    - Apps of the backup's rows that are not checked (C(django.contrib), third-party), with their number
      of rows.
  returned: success
  type: dict
  sample: {"auth": 12, "contenttypes": 2, "sessions": 1}
unknown_to_target:
  description:
    - Rows of the backup (of checked apps) that no migration file of the target has, by name or through
      C(replaces); sorted C(app.name).
  returned: success
  type: list
  elements: str
  sample: [notifications.0002_remove_channels]
to_apply:
  description:
    - Migrations of the target missing from the backup (a squashed one is applied when all it replaces
      are), sorted.
    - Each has C(migration) (C(app.name)), C(path) (in the repository), C(additive), C(operations) (the
      operations' names, in order) and C(problem) (why the file could not be read as a migration, else null).
  returned: success
  type: list
  elements: dict
  sample: [{"migration": "course_catalog.0002_podcast_rss_url",
            "path": "course_catalog/migrations/0002_podcast_rss_url.py",
            "additive": true, "operations": ["AddField", "AddIndex"], "problem": null}]
not_additive:
  description: The RV(to_apply) migrations that are not additive (C(app.name)).
  returned: success
  type: list
  elements: str
  sample: [course_catalog.0002_backfill_feeds]
applied_count:
  description: Number of distinct rows in O(applied).
  returned: success
  type: int
  sample: 42
target_migrations_count:
  description: Number of migration files at the target.
  returned: success
  type: int
  sample: 40
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.django_migrations import (
    MigrationCheckError, check, module_runner)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo_dir=dict(type="path", required=True),
            method=dict(type="str", choices=["reset", "revert"], default="reset"),
            target=dict(type="str"),
            merge_commit=dict(type="str"),
            deployed=dict(type="str", default="HEAD"),
            applied=dict(type="list", elements="raw", required=True),
            app_labels=dict(type="dict", default={}),
            policy=dict(type="str", choices=["refuse", "report"], default="refuse"),
            backup_label=dict(type="str"),
        ),
        required_if=[("method", "reset", ["target"]), ("method", "revert", ["merge_commit"])],
        supports_check_mode=True,
    )
    git = module.get_bin_path("git", required=True)
    try:
        result, warnings = check(module.params, module_runner(module, git))
    except MigrationCheckError as exc:
        details = dict(exc.details)
        details.setdefault("ok", False)
        module.fail_json(msg=str(exc), changed=False, **details)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
