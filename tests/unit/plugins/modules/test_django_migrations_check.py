"""django_migrations_check against real git repositories built here (no mocks of git).

The repository is the open-discussions stand-in of molecule/resources/app/build_repo.py, cut down
to its migrations: ``v1.3.0`` (course_catalog has no migration yet), ``v1.4.0`` (the last good
release), ``remove-channels`` merged with --no-ff and tagged ``v1.5.0`` (the bad deployment: the
channels app deleted, notifications' 0001 edited, notifications' 0002 drops the channels tables
with RunSQL), and branches off v1.4.0 for the other cases (an additive migration, a RunPython,
squashed migrations, an unparseable file, a hotfix after the merge).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import django_migrations as dm
from ansible_collections.runbooks.rollback.plugins.modules import django_migrations_check
from module_runner import run_module, warning_messages

DATE = "2026-11-20T09:00:00+00:00"

CHANNELS_0001 = '''from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name='Channel',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
            ],
        ),
        migrations.CreateModel(
            name='Post',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.ForeignKey(on_delete=models.CASCADE, to='channels.channel')),
            ],
        ),
    ]
'''

NOTIFICATIONS_0001 = '''from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('channels', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='NotificationSettings',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('trigger_frequency', models.CharField(default='daily', max_length=20)),
                ('channel', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='channels.channel')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
'''

DROP_CHANNELS = '''from django.db import migrations


class Migration(migrations.Migration):
    """Channels are gone: drop their tables (no-op reverse)."""

    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE notifications_notificationsettings DROP COLUMN IF EXISTS channel_id",
                "DROP TABLE IF EXISTS channels_post, channels_channel CASCADE",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
'''

COURSE_CATALOG_0001 = '''from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name='Podcast',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=256)),
                ('created_on', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
        ),
    ]
'''

SEARCH_0001 = '''from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(name='Percolate', fields=[('id', models.AutoField(primary_key=True))]),
    ]
'''

# Additive: a bare AddField (imported by name) counts like migrations.AddField.
ADDITIVE_0002 = '''from django.db import migrations, models
from django.db.migrations import AddField


class Migration(migrations.Migration):
    dependencies = [('course_catalog', '0001_initial')]
    operations = [
        AddField(model_name='podcast', name='rss_url', field=models.URLField(null=True)),
        migrations.AddIndex(model_name='podcast', index=models.Index(fields=['rss_url'], name='podcast_rss')),
        migrations.AlterModelOptions(name='podcast', options={'ordering': ['title']}),
    ]
'''

RUNPYTHON_0002 = '''from django.db import migrations


def backfill(apps, schema_editor):
    apps.get_model('course_catalog', 'Podcast').objects.update(title='x')


class Migration(migrations.Migration):
    dependencies = [('course_catalog', '0001_initial')]
    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RemoveField(model_name='podcast', name='created_on'),
    ]
'''

FEED_0002 = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('course_catalog', '0001_initial')]
    operations = [migrations.AddField(model_name='podcast', name='feed', field=models.TextField(default=''))]
'''

FEED_0003 = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('course_catalog', '0002_podcast_feed')]
    operations = [migrations.AddIndex(model_name='podcast', index=models.Index(fields=['feed'], name='feed_i'))]
'''

SQUASHED = '''from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [('course_catalog', '0002_podcast_feed'), ('course_catalog', '0003_podcast_feed_index')]

    dependencies = [('course_catalog', '0001_initial')]

    operations = [
        migrations.AddField(model_name='podcast', name='feed', field=models.TextField(default='')),
        migrations.AddIndex(model_name='podcast', index=models.Index(fields=['feed'], name='feed_i')),
    ]
'''

BROKEN = '''from django.db import migrations

class Migration(migrations.Migration):
    operations = [
        migrations.AddField(model_name='podcast', name='x'
'''

CONTRIB = ["auth.0001_initial", "auth.0002_alter_permission_name_max_length", "contenttypes.0001_initial",
           "sessions.0001_initial", "social_django.0001_initial"]
ROWS_140 = CONTRIB + ["channels.0001_initial", "notifications.0001_initial", "course_catalog.0001_initial",
                      "search.0001_initial"]
# Taken after the deployment: 0002 dropped the channels tables, and left the channels rows in place.
ROWS_150 = ROWS_140 + ["notifications.0002_remove_channels"]
CHECKED = ["channels", "course_catalog", "notifications", "search"]
UNCHECKED = {"auth": 2, "contenttypes": 1, "sessions": 1, "social_django": 1}


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="OD Developer", GIT_AUTHOR_EMAIL="dev@open-discussions.example",
               GIT_COMMITTER_NAME="OD Developer", GIT_COMMITTER_EMAIL="dev@open-discussions.example",
               GIT_AUTHOR_DATE=DATE, GIT_COMMITTER_DATE=DATE, GIT_CONFIG_GLOBAL="/dev/null",
               GIT_CONFIG_SYSTEM="/dev/null")
    return subprocess.run(["git", "-C", str(repo)] + list(args), env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def write(tree, files):
    for path, text in files.items():
        full = tree / path
        if text is None:
            full.unlink()
            continue
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)


def commit(repo, message, files, tag=None):
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", "-a", tag, "-m", "Release " + tag)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The repository (a work tree at main = v1.5.0); returns its path."""
    work = tmp_path_factory.mktemp("od") / "open-discussions"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(work, "open-discussions 1.3.0", {
        "manage.py": "import django\n",
        "channels/__init__.py": "", "channels/models.py": "# channels\n",
        "channels/migrations/__init__.py": "", "channels/migrations/0001_initial.py": CHANNELS_0001,
        "notifications/migrations/__init__.py": "", "notifications/migrations/0001_initial.py": NOTIFICATIONS_0001,
        "course_catalog/models.py": "# no model migrated yet\n", "course_catalog/migrations/__init__.py": "",
        "search/migrations/__init__.py": "", "search/migrations/0001_initial.py": SEARCH_0001,
        # Not migrations: not .py, in a subdirectory of migrations/, a helper module Django skips.
        "frontends/open-discussions/migrations/0001_initial.js": "// not python\n",
        "docs/migrations.py": "# not in a migrations directory\n",
    }, tag="v1.3.0")
    commit(work, "open-discussions 1.4.0", {
        "course_catalog/migrations/0001_initial.py": COURSE_CATALOG_0001,
        "course_catalog/migrations/_helpers.py": "def noop(*args):\n    pass\n",
        "course_catalog/migrations/fixtures/load.py": "# data, not a migration\n",
    }, tag="v1.4.0")
    git(work, "checkout", "-q", "-b", "remove-channels")
    shutil.rmtree(str(work / "channels"))
    edited = NOTIFICATIONS_0001.replace("        ('channels', '0001_initial'),\n", "")
    edited = "\n".join(line for line in edited.split("\n") if "('channel', models.ForeignKey" not in line)
    commit(work, "Remove channels", {"notifications/migrations/0001_initial.py": edited,
                                     "notifications/migrations/0002_remove_channels.py": DROP_CHANNELS})
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--no-ff", "-m", "Merge branch 'remove-channels'", "remove-channels")
    git(work, "tag", "-a", "v1.5.0", "-m", "Release 1.5.0")
    branches = {
        "additive": {"course_catalog/migrations/0002_podcast_rss_url.py": ADDITIVE_0002},
        "runpython": {"course_catalog/migrations/0002_backfill_feeds.py": RUNPYTHON_0002},
        "broken": {"course_catalog/migrations/0002_broken.py": BROKEN},
        "squash-base": {"course_catalog/migrations/0002_podcast_feed.py": FEED_0002,
                        "course_catalog/migrations/0003_podcast_feed_index.py": FEED_0003},
    }
    for name, files in branches.items():
        git(work, "checkout", "-q", "-b", name, "v1.4.0")
        commit(work, name, files)
    git(work, "checkout", "-q", "-b", "squashed-kept", "squash-base")
    commit(work, "squash, keeping the replaced files",
           {"course_catalog/migrations/0002_squashed_0003_podcast_feed_index.py": SQUASHED})
    git(work, "checkout", "-q", "-b", "squashed", "squashed-kept")
    commit(work, "drop the replaced migrations", {"course_catalog/migrations/0002_podcast_feed.py": None,
                                                  "course_catalog/migrations/0003_podcast_feed_index.py": None})
    git(work, "checkout", "-q", "-b", "hotfix", "main")
    commit(work, "hotfix after the bad deployment",
           {"course_catalog/migrations/0002_podcast_rss_url.py": ADDITIVE_0002})
    git(work, "checkout", "-q", "main")
    return work


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch):
    """The module uses the user's git configuration: the tests' user has none."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("SUDO_UID", raising=False)


def sha(repo, rev):
    return git(repo, "rev-parse", rev + "^{commit}")


def check(capsys, repo, check_mode=False, **args):
    args.setdefault("repo_dir", str(repo))
    if check_mode:
        args["_ansible_check_mode"] = True
    return run_module(django_migrations_check, args, capsys)


# --- the cases of a rollback --------------------------------------------------------------

def test_the_pre_deployment_backup_matches_the_last_good_release(capsys, repo):
    result, failed = check(capsys, repo, target="v1.4.0", applied=ROWS_140, backup_label="/backups/od_1.dump")
    assert not failed, result
    assert result["ok"] is True and result["changed"] is False
    assert result["target_commit"] == sha(repo, "v1.4.0") and len(result["target_commit"]) == 40
    assert result["deployed_commit"] == sha(repo, "main") == sha(repo, "v1.5.0")
    assert result["checked_apps"] == CHECKED
    assert result["unchecked_apps"] == UNCHECKED
    assert result["unknown_to_target"] == [] and result["to_apply"] == [] and result["not_additive"] == []
    assert result["applied_count"] == len(ROWS_140)
    # channels, notifications, course_catalog, search 0001: no _helpers.py, fixtures/, .js or docs/migrations.py
    assert result["target_migrations_count"] == 4
    assert result["merge_commit"] is None
    assert not warning_messages(result)


def test_a_backup_taken_after_the_deployment_is_refused(capsys, repo):
    result, failed = check(capsys, repo, target="v1.4.0", applied=ROWS_150, backup_label="/backups/od_2.dump")
    assert failed
    assert result["ok"] is False and result["changed"] is False
    assert result["unknown_to_target"] == ["notifications.0002_remove_channels"]  # not the channels rows
    msg = result["msg"]
    assert "The backup /backups/od_2.dump has 1 migration that the code at v1.4.0 (%s) does not know: " \
           "notifications.0002_remove_channels." % sha(repo, "v1.4.0")[:7] in msg
    assert "taken after the deployment" in msg and "nothing was stopped" in msg
    for advice in ("rollback_backup_file", "rollback_code_target", "rollback_migration_policy=report"):
        assert advice in msg


def test_the_right_backup_against_an_older_commit_is_refused(capsys, repo):
    result, failed = check(capsys, repo, target="v1.3.0", applied=ROWS_140)
    assert failed
    assert result["unknown_to_target"] == ["course_catalog.0001_initial"]
    assert "course_catalog" in result["checked_apps"]  # it has migrations at the deployed commit
    assert "The backup has 1 migration that the code at v1.3.0" in result["msg"]
    assert "the target commit is older than the backup" in result["msg"]


def test_a_target_ahead_by_an_additive_migration_is_ok(capsys, repo):
    result, failed = check(capsys, repo, target="additive", applied=ROWS_140)
    assert not failed, result
    assert result["ok"] is True
    assert result["to_apply"] == [{
        "migration": "course_catalog.0002_podcast_rss_url",
        "path": "course_catalog/migrations/0002_podcast_rss_url.py", "additive": True,
        "operations": ["AddField", "AddIndex", "AlterModelOptions"], "problem": None}]
    assert result["not_additive"] == [] and result["target_migrations_count"] == 5


def test_a_target_ahead_by_a_runpython_and_a_removefield_is_refused(capsys, repo):
    result, failed = check(capsys, repo, target="runpython", applied=ROWS_140)
    assert failed
    assert result["not_additive"] == ["course_catalog.0002_backfill_feeds"]
    assert result["to_apply"][0]["operations"] == ["RunPython", "RemoveField"]
    assert result["to_apply"][0]["additive"] is False
    assert "course_catalog.0002_backfill_feeds (RunPython, RemoveField)" in result["msg"]
    assert "not additive" in result["msg"] and result["unknown_to_target"] == []


def test_an_unparseable_migration_is_not_additive(capsys, repo):
    result, failed = check(capsys, repo, target="broken", applied=ROWS_140)
    assert failed and result["not_additive"] == ["course_catalog.0002_broken"]
    entry = result["to_apply"][0]
    assert entry["operations"] == [] and entry["problem"].startswith("cannot be parsed")
    assert "course_catalog.0002_broken (cannot be parsed" in result["msg"]


def test_both_findings_are_named_together(capsys, repo):
    rows = ROWS_140 + ["course_catalog.0009_from_the_future"]
    result, failed = check(capsys, repo, target="runpython", applied=rows)
    assert failed
    assert result["unknown_to_target"] == ["course_catalog.0009_from_the_future"]
    assert result["not_additive"] == ["course_catalog.0002_backfill_feeds"]
    assert "0009_from_the_future" in result["msg"] and "0002_backfill_feeds" in result["msg"]


# --- method=revert ------------------------------------------------------------------------

def test_reverting_the_merge_is_the_same_as_resetting_to_the_release_before_it(capsys, repo):
    for rows, ok in ((ROWS_140, True), (ROWS_150, False)):
        reset, reset_failed = check(capsys, repo, target="v1.4.0", applied=rows)
        revert, revert_failed = check(capsys, repo, method="revert", merge_commit="v1.5.0", applied=rows)
        assert reset_failed is revert_failed is (not ok)
        for key in ("ok", "checked_apps", "unchecked_apps", "unknown_to_target", "to_apply", "not_additive",
                    "applied_count", "target_migrations_count", "deployed_commit"):
            assert revert[key] == reset[key], key
        # The merge's first parent, the release before it.
        assert revert["target_commit"] == sha(repo, "v1.4.0")
        assert revert["merge_commit"] == sha(repo, "v1.5.0")
    assert "HEAD (%s) with the merge v1.5.0 (%s) reverted" % (sha(repo, "HEAD")[:7], sha(repo, "v1.5.0")[:7]) \
        in revert["msg"]


def test_the_revert_restores_the_files_the_merge_changed(repo):
    def run(args, data=None):
        proc = subprocess.run(["git"] + list(args), input=data, capture_output=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    repository = dm.Git(run, str(repo))
    files, first_parent, deployed = dm._revert_files(  # pylint: disable=protected-access
        repository, sha(repo, "v1.5.0"), sha(repo, "main"))
    assert files == repository.migration_files(sha(repo, "v1.4.0"))  # blob by blob: 0001 edited back
    assert first_parent == sha(repo, "v1.4.0")
    assert "notifications/migrations/0002_remove_channels.py" in deployed


def test_reverting_the_merge_keeps_a_later_hotfix(capsys, repo):
    result, failed = check(capsys, repo, method="revert", merge_commit="v1.5.0", deployed="hotfix",
                           applied=ROWS_140)
    assert not failed, result
    assert [entry["migration"] for entry in result["to_apply"]] == ["course_catalog.0002_podcast_rss_url"]
    assert result["deployed_commit"] == sha(repo, "hotfix") and result["ok"] is True
    # The same backup against the hotfix reset to v1.4.0: nothing to apply.
    result, failed = check(capsys, repo, target="v1.4.0", deployed="hotfix", applied=ROWS_140)
    assert not failed and result["to_apply"] == []


# --- squashed migrations ------------------------------------------------------------------

SQUASH = "course_catalog.0002_squashed_0003_podcast_feed_index"


def test_rows_of_replaced_migrations_are_known_to_a_squashed_target(capsys, repo):
    rows = ROWS_140 + ["course_catalog.0002_podcast_feed", "course_catalog.0003_podcast_feed_index"]
    for target in ("squashed", "squashed-kept"):
        result, failed = check(capsys, repo, target=target, applied=rows)
        assert not failed, result
        assert result["unknown_to_target"] == [] and result["to_apply"] == [], target


def test_a_squashed_migration_none_of_whose_replaced_migrations_ran_is_to_apply(capsys, repo):
    for target in ("squashed", "squashed-kept"):
        result, failed = check(capsys, repo, target=target, applied=ROWS_140)
        assert not failed, result
        assert [entry["migration"] for entry in result["to_apply"]] == [SQUASH], target
        assert result["to_apply"][0]["operations"] == ["AddField", "AddIndex"]


def test_a_partly_applied_squash_runs_what_is_left_of_it(capsys, repo):
    rows = ROWS_140 + ["course_catalog.0002_podcast_feed"]
    result, failed = check(capsys, repo, target="squashed-kept", applied=rows)
    assert not failed, result
    assert [entry["migration"] for entry in result["to_apply"]] == ["course_catalog.0003_podcast_feed_index"]
    # The replaced files are gone: the squash itself is what is left to run.
    result, failed = check(capsys, repo, target="squashed", applied=rows)
    assert not failed, result
    assert [entry["migration"] for entry in result["to_apply"]] == [SQUASH]


def test_a_squash_in_the_backup_is_unknown_to_a_target_without_it(capsys, repo):
    rows = ROWS_140 + ["course_catalog.0002_podcast_feed", "course_catalog.0003_podcast_feed_index", SQUASH]
    result, failed = check(capsys, repo, target="squash-base", applied=rows, policy="report")
    assert not failed and result["unknown_to_target"] == [SQUASH]


# --- policy, inputs -----------------------------------------------------------------------

def test_policy_report_warns_instead_of_failing(capsys, repo):
    result, failed = check(capsys, repo, target="v1.4.0", applied=ROWS_150, policy="report",
                           backup_label="/backups/od_2.dump")
    assert not failed, result
    assert result["ok"] is False and result["unknown_to_target"] == ["notifications.0002_remove_channels"]
    warnings = warning_messages(result)
    assert len(warnings) == 1
    assert "notifications.0002_remove_channels" in warnings[0] and "/backups/od_2.dump" in warnings[0]
    assert "rollback_migration_policy=report" in warnings[0]


def test_an_empty_backup_is_refused_or_warned_about(capsys, repo):
    result, failed = check(capsys, repo, target="v1.4.0", applied=[], backup_label="/backups/empty.dump")
    assert failed and result["ok"] is False
    assert "The backup /backups/empty.dump has no django_migrations rows (no django_migrations table in " \
           "the backup" in result["msg"]
    result, failed = check(capsys, repo, target="v1.4.0", applied=[], policy="report")
    assert not failed and result["ok"] is False and result["applied_count"] == 0
    assert any("no django_migrations rows" in w for w in warning_messages(result))
    assert len(result["to_apply"]) == 4


def test_rows_as_strings_dicts_and_pairs(capsys, repo):
    rows = [{"app": "channels", "name": "0001_initial"}, ["notifications", "0001_initial"],
            "course_catalog.0001_initial", "search.0001_initial", "auth.0001_initial",
            "course_catalog.0001_initial"]  # a duplicate row counts once
    result, failed = check(capsys, repo, target="v1.4.0", applied=rows)
    assert not failed, result
    assert result["ok"] is True and result["applied_count"] == 5
    # Split at the first dot: the app is course_catalog, the name has the dot.
    result, failed = check(capsys, repo, target="v1.4.0", applied=ROWS_140 + ["course_catalog.0002.extra"],
                           policy="report")
    assert result["unknown_to_target"] == ["course_catalog.0002.extra"]


def test_the_rows_of_pg_backup_info_are_taken_as_they_are(capsys, repo):
    rows = [{"app": app, "name": name} for app, _dot, name in (row.partition(".") for row in ROWS_140)]
    result, failed = check(capsys, repo, target="v1.4.0", applied=rows)
    assert not failed and result["ok"] is True


def test_app_labels(capsys, repo):
    rows = [row for row in ROWS_140 if not row.startswith("search.")] + ["od_search.0001_initial"]
    result, failed = check(capsys, repo, target="v1.4.0", applied=rows, app_labels={"search/": "od_search"})
    assert not failed, result
    assert "od_search" in result["checked_apps"] and "search" not in result["checked_apps"]
    assert result["to_apply"] == [] and "od_search" not in result["unchecked_apps"]
    # Without the label the rows are another app's and the search migration looks unapplied.
    result, failed = check(capsys, repo, target="v1.4.0", applied=rows)
    assert not failed and result["unchecked_apps"]["od_search"] == 1
    assert [entry["migration"] for entry in result["to_apply"]] == ["search.0001_initial"]
    result, failed = check(capsys, repo, target="v1.4.0", applied=ROWS_140, app_labels={"src/search": "od_search"})
    assert not failed
    assert any("app_labels names src/search, which has no migrations/ directory" in w
               for w in warning_messages(result))


def test_a_bare_repository_and_check_mode_give_the_same_result(capsys, repo, tmp_path):
    bare = tmp_path / "od.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    expected, failed = check(capsys, repo, target="additive", applied=ROWS_140)
    assert not failed
    for repo_dir, check_mode in ((bare, False), (repo, True), (bare, True)):
        result, failed = check(capsys, repo_dir, check_mode=check_mode, target="additive", applied=ROWS_140)
        assert not failed, result
        for key in ("ok", "target_commit", "deployed_commit", "checked_apps", "unchecked_apps", "to_apply",
                    "unknown_to_target", "not_additive", "changed"):
            assert result[key] == expected[key], (repo_dir, check_mode, key)


@pytest.fixture()
def git_calls(tmp_path, monkeypatch):
    """A git on PATH that logs its arguments and runs the real one; returns the log's lines."""
    real = shutil.which("git")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "git.log"
    wrapper = bindir / "git"
    wrapper.write_text('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (log, real))
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ["PATH"]))
    return lambda: log.read_text().splitlines() if log.exists() else []


def test_contents_are_read_by_one_cat_file_and_nothing_is_checked_out(capsys, repo, git_calls):
    before = git(repo, "status", "--porcelain")
    done = len(git_calls())
    result, failed = check(capsys, repo, target="additive", applied=ROWS_140)
    assert not failed, result
    calls = git_calls()[done:]
    assert [c for c in calls if "cat-file" in c] == ["-C %s cat-file --batch" % repo], calls
    subcommands = set(c.split()[2] for c in calls)
    assert subcommands <= {"rev-parse", "ls-tree", "cat-file"}, calls
    assert git(repo, "status", "--porcelain") == before and git(repo, "rev-parse", "HEAD") == sha(repo, "main")


def test_thousands_of_migrations_are_read_by_one_cat_file(capsys, tmp_path, git_calls):
    """run_command writes stdin before reading stdout: without the writer thread this would hang."""
    big = tmp_path / "big"
    big.mkdir()
    git(big, "init", "-q", "-b", "main")
    files = {}
    for app in range(6):
        for number in range(1, 501):
            files["app%d/migrations/%04d_step.py" % (app, number)] = (
                "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
                "    operations = [migrations.AddField('m', 'f%d', None)]\n    # %s\n" % (number, "x" * 200))
    commit(big, "many migrations", files)
    rows = ["app%d.%04d_step" % (app, number) for app in range(6) for number in range(1, 500)]
    result, failed = check(capsys, big, target="main", applied=rows)
    assert not failed, result
    assert result["target_migrations_count"] == 3000
    assert [entry["migration"] for entry in result["to_apply"]] == ["app%d.0500_step" % app for app in range(6)]
    assert len([c for c in git_calls() if "cat-file" in c]) == 1


@pytest.mark.parametrize("args, message", [
    ({"applied": ROWS_140}, "method is reset but all of the following are missing: target"),
    ({"method": "revert", "applied": ROWS_140}, "method is revert but all of the following are missing: merge_commit"),
    ({"target": "v1.4.0"}, "missing required arguments: applied"),
    ({"target": "v1.4.0", "applied": ROWS_140, "policy": "ignore"}, "policy"),
    ({"target": "v1.4.0", "applied": ["nodot"]}, "applied[0] is 'nodot': each row must be a dict {app, name}"),
    ({"target": "v1.4.0", "applied": ["auth.x", {"app": "auth"}]}, "applied[1] is {'app': 'auth'}"),
    ({"target": "v1.4.0", "applied": [42]}, "applied[0] is 42"),
    ({"target": "v1.4.0", "applied": [".0001_initial"]}, "applied[0] is '.0001_initial'"),
    ({"target": "v1.4.0", "applied": ROWS_140, "app_labels": {"search": "od.search"}},
     "app_labels['search'] is 'od.search'"),
    ({"target": "--output=/tmp/x", "applied": ROWS_140}, "target='--output=/tmp/x' is not a commit-ish"),
])
def test_bad_input(capsys, repo, args, message):
    result, failed = check(capsys, repo, **args)
    assert failed and message in result["msg"], result["msg"]


def test_names_that_are_not_commits_say_how_to_find_one(capsys, repo):
    result, failed = check(capsys, repo, target="v9.9.9", applied=ROWS_140)
    assert failed
    assert "target=v9.9.9 is not a commit of the repository %s" % repo in result["msg"]
    assert "git -C %s log --oneline --decorate" % repo in result["msg"] and "fetch" in result["msg"]
    result, failed = check(capsys, repo, target="v1.4.0", deployed="no-such-branch", applied=ROWS_140)
    assert failed and "deployed=no-such-branch is not a commit" in result["msg"]
    result, failed = check(capsys, repo, method="revert", merge_commit="0" * 40, applied=ROWS_140)
    assert failed and "merge_commit=%s is not a commit" % ("0" * 40) in result["msg"]


def test_a_merge_commit_that_is_not_a_merge(capsys, repo):
    result, failed = check(capsys, repo, method="revert", merge_commit="v1.4.0", applied=ROWS_140)
    assert failed
    assert "merge_commit %s is not a merge commit (it has 1 parent)" % sha(repo, "v1.4.0")[:12] in result["msg"]
    assert "method=reset with target" in result["msg"]


def test_a_merge_outside_the_deployed_history(capsys, repo):
    result, failed = check(capsys, repo, method="revert", merge_commit="v1.5.0", deployed="additive",
                           applied=ROWS_140)
    assert failed and "is not in the history of the deployed commit" in result["msg"]


def test_a_directory_that_is_not_a_repository(capsys, tmp_path):
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    result, failed = check(capsys, plain, target="v1.4.0", applied=ROWS_140)
    assert failed and "repo_dir %s is not a git repository" % plain in result["msg"]
    result, failed = check(capsys, tmp_path / "missing", target="v1.4.0", applied=ROWS_140)
    assert failed and "repo_dir %s does not exist" % (tmp_path / "missing") in result["msg"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository to another user")
def test_a_checkout_of_another_user_says_to_become_its_owner(capsys, repo, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(str(repo), str(other))
    for root, dirs, names in os.walk(str(other)):
        for name in dirs + names:
            os.lchown(os.path.join(root, name), 65534, 65534)
    os.chown(str(other), 65534, 65534)
    result, failed = check(capsys, other, target="v1.4.0", applied=ROWS_140)
    assert failed
    owner = dm._owner_of(str(other))  # pylint: disable=protected-access
    assert "git refuses to read the repository %s" % other in result["msg"]
    assert "dubious ownership" in result["msg"] and "become_user: %s" % owner in result["msg"]


# --- the parser ---------------------------------------------------------------------------

def _parsed(body, header="from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"):
    return dm.parse_migration((header + body).encode())


@pytest.mark.parametrize("body, operations, additive, problem", [
    ("    operations = [migrations.CreateModel('A', []), migrations.AlterModelManagers('a', [])]\n",
     ["CreateModel", "AlterModelManagers"], True, None),
    ("    operations = []\n", [], True, None),
    ("    operations = ()\n", [], True, None),
    ("    pass\n", [], False, "has no operations list in its Migration class"),
    ("    operations = BASE + [migrations.AddField('a', 'b', None)]\n", [], False,
     "builds its operations at run time (not a literal list)"),
    ("    operations = []\n    operations += [migrations.RunSQL('x')]\n", [], False,
     "builds its operations at run time (not a literal list)"),
    ("    operations = [migrations.AlterField('a', 'b', None)]\n", ["AlterField"], False, None),
    ("    operations = [migrations.RenameField('a', 'b', 'c'), migrations.AddConstraint('a', None)]\n",
     ["RenameField", "AddConstraint"], False, None),
    ("    operations = [migrations.AddField('a', 'b', None), *MORE]\n", ["AddField", "<expression>"], False, None),
    ("    operations = [migrations.AddField('a', 'b', None)]\n\nMigration.operations.append(None)\n",
     ["AddField"], False, "changes Migration.operations outside the class"),
    ("    operations = [pgtrigger.migrations.AddTrigger('a', None)]\n", ["AddTrigger"], False, None),
])
def test_parse_migration(body, operations, additive, problem):
    parsed = _parsed(body)
    assert parsed["operations"] == operations
    assert parsed["additive"] is additive
    assert parsed["problem"] == problem


def test_parse_migration_replaces_and_files_that_are_not_migrations():
    parsed = _parsed("    replaces = [('a', '0001_x'), ['a', '0002_y']]\n    operations = []\n")
    assert parsed["replaces"] == [("a", "0001_x"), ("a", "0002_y")]
    assert dm.parse_migration(b"def helper():\n    pass\n")["problem"] == "has no Migration class"
    assert dm.parse_migration(b"\xff\xfe\x00garbage")["problem"].startswith("cannot be parsed")


@pytest.mark.parametrize("path, expected", [
    ("channels/migrations/0001_initial.py", True),
    ("src/channels/migrations/0002_x.py", True),
    ("migrations/0001_initial.py", True),
    ("channels/migrations/__init__.py", False),
    ("channels/migrations/_helpers.py", False),
    ("channels/migrations/~0001.py", False),
    ("channels/migrations/sub/0001.py", False),
    ("channels/migrations/0001_initial.pyc", False),
    ("channels/mymigrations/0001.py", False),
    ("docs/migrations.py", False),
])
def test_migration_paths(path, expected):
    assert dm.is_migration_path(path) is expected
