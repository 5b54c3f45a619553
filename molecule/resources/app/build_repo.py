"""Build the git repository of the open-discussions stand-in: a good release and a bad deployment.

    python3 build_repo.py DEST

DEST becomes a bare repository (rebuilt from scratch on every call; the commit ids are the
same every time: fixed authors and dates) with

- ``main`` at the merge commit of the bad deployment, tagged ``v1.5.0``;
- ``v1.4.0``: the last good release (the source tree in ``src/``);
- ``remove-channels``: the branch merged by ``v1.5.0`` (``git merge --no-ff``). It deletes the
  ``channels`` app, removes it from settings, urls and the frontend, drops ``praw`` (pyproject.toml, poetry.lock, requirements.txt), edits the
  old ``notifications`` migration not to depend on ``channels`` any more and adds one that
  drops the ``channels_*`` tables with a no-op reverse, leaving their ``django_migrations``
  rows in place: what open-discussions' real removal did. Its beat schedule still sends the
  removed ``channels.tasks.channel_digests``: the worker logs an ERROR each time. It also adds
  a task of its own, ``notifications.tasks.send_frontpage_digest``, that beat queues every 5 s
  to run in an hour: the worker holds these messages unacknowledged and gives them back to
  redis when it stops, so the rollback finds real messages in the ``celery`` queue whose task
  the last good release does not know.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
LOCKS = HERE / "locks"

DROP_CHANNELS = '''from django.db import migrations


class Migration(migrations.Migration):
    """Channels are gone: drop their tables. There is no way back (no-op reverse), and the
    channels rows of django_migrations stay where they are."""

    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE notifications_notificationsettings DROP COLUMN IF EXISTS channel_id",
                "DROP TABLE IF EXISTS channels_channelsubscription, channels_comment, channels_post, "
                "channels_channel CASCADE",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
'''


def git(repo: Path, *args: str, date: str = "2026-11-20T09:00:00+00:00") -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="OD Developer", GIT_AUTHOR_EMAIL="dev@open-discussions.example",
               GIT_COMMITTER_NAME="OD Developer", GIT_COMMITTER_EMAIL="dev@open-discussions.example",
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date, GIT_CONFIG_GLOBAL="/dev/null",
               GIT_CONFIG_SYSTEM="/dev/null")
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def edit(path: Path, old: str, new: str = "") -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit("build_repo: %r not found in %s" % (old, path))
    path.write_text(text.replace(old, new))


FRONTPAGE_TASK = '''

@shared_task
def send_frontpage_digest(user_ids):
    log.info("front page digest for %d users", len(user_ids))
'''

FRONTPAGE_SCHEDULE = ('''    "frontpage-digest": {"task": "notifications.tasks.send_frontpage_digest", "schedule": 5.0,'''
                      '''
                         "args": [[1, 2, 3]], "options": {"countdown": 3600}},
''')


def remove_channels(tree: Path) -> None:
    shutil.rmtree(tree / "channels")
    edit(tree / "open_discussions" / "settings.py", '    "channels",\n')
    edit(tree / "open_discussions" / "urls.py", "from channels import views as channel_views\n")
    edit(tree / "open_discussions" / "urls.py", '    path("c/<str:name>/", channel_views.channel_page),\n')
    edit(tree / "open_discussions" / "urls.py", '    path("api/v0/channels/", channel_views.channel_list),\n')
    edit(tree / "notifications" / "models.py",
         '    channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.CASCADE)\n')
    initial = tree / "notifications" / "migrations" / "0001_initial.py"
    edit(initial, "        ('channels', '0001_initial'),\n")
    text = initial.read_text()
    text, count = re.subn(r"\n *\('channel', models\.ForeignKey\([^\n]*\)\),", "", text)
    if count != 1:
        raise SystemExit("build_repo: the channel field of notifications 0001 was not found")
    initial.write_text(text)
    (tree / "notifications" / "migrations" / "0002_remove_channels.py").write_text(DROP_CHANNELS)
    tasks = tree / "notifications" / "tasks.py"
    tasks.write_text(tasks.read_text() + FRONTPAGE_TASK)
    edit(tree / "open_discussions" / "settings.py",
         '    "channel-digests": {"task": "channels.tasks.channel_digests", "schedule": 30.0},\n',
         '    "channel-digests": {"task": "channels.tasks.channel_digests", "schedule": 30.0},\n' + FRONTPAGE_SCHEDULE)
    edit(tree / "frontends" / "open-discussions" / "src" / "features.js", '"channels", ')
    for name in ("package.json", "package-lock.json"):
        path = tree / "frontends" / "open-discussions" / name
        path.write_text(path.read_text().replace('"version": "1.4.0"', '"version": "1.5.0"'))
    shutil.copyfile(LOCKS / "pyproject.bad.toml", tree / "pyproject.toml")
    shutil.copyfile(LOCKS / "poetry.bad.lock", tree / "poetry.lock")
    shutil.copyfile(LOCKS / "requirements.bad.txt", tree / "requirements.txt")


def build(dest: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="od-repo-") as tmp:
        work = Path(tmp) / "open-discussions"
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "node_modules", "dist", "staticfiles")
        shutil.copytree(SRC, work, ignore=skip)
        git(work, "init", "-q", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "open-discussions 1.4.0", date="2026-11-20T09:00:00+00:00")
        git(work, "tag", "-a", "v1.4.0", "-m", "Release 1.4.0", date="2026-11-20T09:00:00+00:00")
        git(work, "checkout", "-q", "-b", "remove-channels")
        remove_channels(work)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "Remove channels (and praw)", date="2026-11-23T15:00:00+00:00")
        git(work, "checkout", "-q", "main")
        git(work, "merge", "-q", "--no-ff", "-m", "Merge branch 'remove-channels'", "remove-channels",
            date="2026-11-24T08:00:00+00:00")
        git(work, "tag", "-a", "v1.5.0", "-m", "Release 1.5.0", date="2026-11-24T08:00:00+00:00")
        if dest.exists():
            shutil.rmtree(dest)
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(dest)], check=True)
    main_id = git(dest, "rev-parse", "--short", "main")
    good_id = git(dest, "rev-parse", "--short", "v1.4.0^{commit}")
    print("%s: main=%s v1.4.0=%s" % (dest, main_id, good_id))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    build(Path(argv[0]).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
