"""app_release: the release to roll back to, prepared next to the live one and switched to atomically.

Everything is real: checkouts in tmp_path copied with ``cp -a``, git repositories with commits and
tags, virtualenvs made by ``python3 -m venv --without-pip`` and run after the switch, symlinks
renamed over. The logic is called directly (module_utils.release, with a runner that runs the
command as ``AnsibleModule.run_command`` would) and through the module's main().
"""
from __future__ import annotations

import json
import re
import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import release as rl
from ansible_collections.runbooks.rollback.plugins.modules import app_release
from module_runner import run_module, warning_messages

RID = "20261203T0712Z"
AS_ROOT = os.geteuid() == 0
# An owner that is neither root nor the test's user: kept by the copy and the rewrite.
OWNER = (1234, 2345)
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="OD Developer", GIT_AUTHOR_EMAIL="dev@open-discussions.example",
               GIT_COMMITTER_NAME="OD Developer", GIT_COMMITTER_EMAIL="dev@open-discussions.example",
               GIT_AUTHOR_DATE="2026-11-20T10:00:00Z", GIT_COMMITTER_DATE="2026-11-20T10:00:00Z",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_SYSTEM="/dev/null")


def run_command(argv):
    """What AnsibleModule.run_command returns for an argv: (rc, stdout, stderr)."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo)] + list(args), env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo, message, files, tag=None):
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", "-a", tag, "-m", tag)
    return git(repo, "rev-parse", "HEAD")


def tree(top):
    """Every entry under ``top``: relative name -> (kind, mode, uid, gid, link target or content)."""
    found = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            full = os.path.join(directory, name)
            rel = os.path.relpath(full, top)
            if rel == ".git" or rel.startswith(".git/"):
                continue
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                detail = os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as handle:
                    detail = handle.read()
            else:
                detail = None
            found[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, detail)
    return found


@pytest.fixture
def checkout(tmp_path):
    """An in_place live checkout /srv/app: a git repository at commit B (A is tagged v1), with a
    script 0750, a private 0600 file owned by another user, a relative symlink and a directory."""
    path = tmp_path / "srv" / "app"
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    first = commit(path, "A", {"MARKER": "A\n", "manage.py": "print('manage')\n"}, tag="v1")
    second = commit(path, "B", {"MARKER": "B\n", "static/app.css": "body {}\n"})
    os.chmod(path / "manage.py", 0o750)
    (path / "settings.env").write_text("SECRET=1\n")
    os.chmod(path / "settings.env", 0o600)
    if AS_ROOT:
        os.chown(path / "settings.env", *OWNER)
        os.chown(path / "static", *OWNER)
    os.symlink("static/app.css", path / "app.css")
    os.symlink("/nonexistent/target", path / "dangling")
    return {"path": str(path), "journal": str(tmp_path / "work" / RID / "release.json"),
            "A": first, "B": second, **rl.in_place_names(str(path), RID)}


def prepare(c, **kwargs):
    return rl.prepare(run_command, c["path"], RID, c["journal"], **kwargs)


# --- 1. in_place prepare ----------------------------------------------------------------------

def test_in_place_prepare_copies_the_checkout_with_modes_links_and_owners(checkout):
    before = tree(checkout["path"])
    result = prepare(checkout)
    assert result["changed"] is True and result["layout"] == "in_place"
    assert result["release"] == checkout["release"] == checkout["path"] + ".rollback-" + RID
    assert result["reused"] is False and result["created"] is True
    copied = tree(checkout["release"])
    assert copied == before  # same names, kinds, modes, owners, link targets and contents
    assert copied["manage.py"][1] == 0o750 and copied["settings.env"][1] == 0o600
    assert os.readlink(os.path.join(checkout["release"], "app.css")) == "static/app.css"
    assert os.path.islink(os.path.join(checkout["release"], "dangling"))
    if AS_ROOT:
        assert copied["settings.env"][2:4] == OWNER and copied["static"][2:4] == OWNER
    # The copy is a git checkout of the same commit, to be rolled back there.
    assert git(checkout["release"], "rev-parse", "HEAD") == checkout["B"]
    assert not os.path.lexists(checkout["partial"])
    # The live checkout is untouched.
    assert tree(checkout["path"]) == before


def test_the_journal_is_0600_and_records_the_inode_of_the_copy(checkout):
    result = prepare(checkout)
    st = os.stat(checkout["journal"])
    assert stat.S_IMODE(st.st_mode) == 0o600
    record = json.load(open(checkout["journal"]))
    copy = os.stat(checkout["release"])
    assert record["identity"] == [copy.st_dev, copy.st_ino] == result["identity"]
    assert record["release"] == checkout["release"] and record["path"] == checkout["path"]
    assert record["layout"] == "in_place" and record["rollback_id"] == RID
    assert record["identity"] != rl.identity(checkout["path"])


def test_a_second_prepare_changes_nothing_and_names_the_same_release(checkout):
    first = prepare(checkout)
    marker = os.path.join(first["release"], "built")
    open(marker, "w").close()  # what the build made in the copy is not copied over again
    journal = open(checkout["journal"]).read()
    second = prepare(checkout)
    assert second["changed"] is False and second["reused_prepared"] is True
    assert second["release"] == first["release"] and second["identity"] == first["identity"]
    assert os.path.exists(marker)
    assert open(checkout["journal"]).read() == journal


def test_a_leftover_partial_copy_is_removed_and_replaced(checkout):
    os.makedirs(os.path.join(checkout["partial"], "half"))
    open(os.path.join(checkout["partial"], "half", "junk"), "w").close()
    result = prepare(checkout)
    assert result["changed"] is True
    assert not os.path.lexists(checkout["partial"])
    assert not os.path.exists(os.path.join(checkout["release"], "half"))
    assert tree(checkout["release"]) == tree(checkout["path"])


def test_check_mode_prepare_copies_nothing_and_writes_no_journal(checkout):
    result = prepare(checkout, check_mode=True)
    assert result["changed"] is True and result["release"] == checkout["release"]
    assert not os.path.lexists(checkout["release"]) and not os.path.lexists(checkout["partial"])
    assert not os.path.lexists(checkout["journal"])
    assert sorted(os.listdir(os.path.dirname(checkout["path"]))) == ["app"]


def test_prepare_after_the_switch_refuses_and_copies_nothing(checkout):
    prepare(checkout)
    rl.switch(checkout["path"], checkout["journal"])
    journal = open(checkout["journal"]).read()
    with pytest.raises(rl.ReleaseError, match="already live at %s" % checkout["path"]):
        prepare(checkout)
    assert not os.path.lexists(checkout["release"])
    assert open(checkout["journal"]).read() == journal


def test_a_journal_of_another_path_is_refused(checkout, tmp_path):
    prepare(checkout)
    other = tmp_path / "srv" / "other"
    other.mkdir()
    with pytest.raises(rl.ReleaseError, match="records a release of %s, not of %s" % (checkout["path"], other)):
        rl.prepare(run_command, str(other), RID, checkout["journal"])


def test_a_journal_that_is_not_json_is_named(checkout):
    os.makedirs(os.path.dirname(checkout["journal"]))
    open(checkout["journal"], "w").write("{not json")
    with pytest.raises(rl.ReleaseError, match="%s is not a journal this module wrote" % checkout["journal"]):
        prepare(checkout)


# --- 2. relocate ------------------------------------------------------------------------------

SCRIPT = """\
import sys
import appmod
print(sys.prefix)
print(appmod.__file__)
"""


def build_venv(release):
    """A real virtualenv inside the release, as the build makes it: a console script whose shebang
    names the release's python, and a .pth putting the release's src/ on sys.path."""
    venv = os.path.join(release, ".venv")
    subprocess.run(["python3", "-m", "venv", "--without-pip", venv], check=True)
    os.makedirs(os.path.join(release, "src"))
    with open(os.path.join(release, "src", "appmod.py"), "w") as handle:
        handle.write("NAME = 'app'\n")
    script = os.path.join(venv, "bin", "show-prefix")
    with open(script, "w") as handle:
        handle.write("#!%s/.venv/bin/python\n" % release + SCRIPT)
    os.chmod(script, 0o750)
    if AS_ROOT:
        os.chown(script, *OWNER)
    lib = os.path.join(venv, "lib")
    site = os.path.join(lib, os.listdir(lib)[0], "site-packages")
    pth = os.path.join(site, "app.pth")
    with open(pth, "w") as handle:
        handle.write("%s/src\n" % release)
    return {"venv": venv, "script": script, "site": site, "pth": pth}


def test_relocate_rewrites_the_virtualenv_to_the_live_path_and_it_runs_there_after_the_switch(checkout):
    prepare(checkout)
    release, path = checkout["release"], checkout["path"]
    venv = build_venv(release)
    # Before: the script runs at the release's path.
    out = subprocess.run([venv["script"]], capture_output=True, text=True, check=True).stdout.split()
    assert out == [release + "/.venv", release + "/src/appmod.py"]
    mode, owner = stat.S_IMODE(os.stat(venv["script"]).st_mode), os.stat(venv["script"])[4:6]

    rewritten = rl.relocate(release, path)
    assert venv["script"] in rewritten and venv["pth"] in rewritten
    assert os.path.join(venv["venv"], "bin", "activate") in rewritten
    assert all(not os.path.islink(name) for name in rewritten)  # bin/python is a symlink: left alone
    with open(venv["script"]) as handle:
        assert handle.readline() == "#!%s/.venv/bin/python\n" % path
    assert open(venv["pth"]).read() == "%s/src\n" % path
    assert release not in open(os.path.join(venv["venv"], "bin", "activate")).read()
    assert stat.S_IMODE(os.stat(venv["script"]).st_mode) == mode == 0o750
    assert os.stat(venv["script"])[4:6] == owner
    if AS_ROOT:
        assert tuple(owner) == OWNER
    assert not [n for n in os.listdir(os.path.dirname(venv["script"])) if n.endswith(".rb-relocate")]

    assert rl.relocate(release, path) == []  # nothing left to rewrite

    rl.switch(path, checkout["journal"])
    live_script = os.path.join(path, ".venv", "bin", "show-prefix")
    proc = subprocess.run([live_script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [path + "/.venv", path + "/src/appmod.py"]
    live_pth = os.path.join(path, os.path.relpath(venv["pth"], release))
    assert open(live_pth).read() == "%s/src\n" % path
    assert not os.path.lexists(release)


def test_relocate_rewrites_the_release_root_itself_in_editable_installs(checkout):
    """``pip install -e .`` names the release without a trailing slash: its .pth, its .egg-link
    and its direct_url.json must name the live path too; a longer name is not the release."""
    prepare(checkout)
    release, path = checkout["release"], checkout["path"]
    venv = build_venv(release)
    editable = os.path.join(venv["site"], "__editable__.app-1.0.pth")
    open(editable, "w").write(release + "\n")
    egg_link = os.path.join(venv["site"], "app.egg-link")
    open(egg_link, "w").write(release + "\n.")
    dist = os.path.join(venv["site"], "app-1.0.dist-info")
    os.makedirs(dist)
    direct_url = os.path.join(dist, "direct_url.json")
    open(direct_url, "w").write(json.dumps({"url": "file://" + release, "dir_info": {"editable": True}}))
    other = os.path.join(venv["site"], "other.pth")
    open(other, "w").write(release + "0/src\n" + release + ".partial\n")

    rewritten = rl.relocate(release, path)
    assert {editable, egg_link, direct_url} <= set(rewritten)
    assert open(editable).read() == path + "\n"
    assert open(egg_link).read() == path + "\n."
    assert json.load(open(direct_url))["url"] == "file://" + path
    assert other not in rewritten
    assert open(other).read() == release + "0/src\n" + release + ".partial\n"
    assert rl.relocate(release, path) == []


def test_relocate_in_check_mode_names_the_files_and_rewrites_none(checkout):
    prepare(checkout)
    venv = build_venv(checkout["release"])
    before = open(venv["script"]).read()
    assert venv["script"] in rl.relocate(checkout["release"], checkout["path"], check_mode=True)
    assert open(venv["script"]).read() == before


def test_relocate_refuses_a_release_without_the_virtualenv(checkout):
    prepare(checkout)
    with pytest.raises(rl.ReleaseError, match="%s has no virtualenv .venv" % checkout["release"]):
        rl.relocate(checkout["release"], checkout["path"])
    build_venv(checkout["release"])
    with pytest.raises(rl.ReleaseError, match="has no virtualenv venv"):
        rl.relocate(checkout["release"], checkout["path"], venv="venv")


# --- 3. in_place switch -----------------------------------------------------------------------

def rolled_back(checkout):
    """Prepare, and roll the copy back to commit A (as the code_rollback role does there)."""
    prepare(checkout)
    git(checkout["release"], "checkout", "-q", checkout["A"])
    assert open(os.path.join(checkout["release"], "MARKER")).read() == "A\n"


def test_switch_in_place_exchanges_the_checkout_and_the_prepared_copy(checkout):
    rolled_back(checkout)
    prepared = rl.identity(checkout["release"])
    old = rl.identity(checkout["path"])
    result = rl.switch(checkout["path"], checkout["journal"])
    assert result["changed"] is True and result["previous"] == checkout["replaced"]
    assert rl.identity(checkout["path"]) == prepared  # the very directory prepared, not a copy
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["A"]
    assert open(os.path.join(checkout["path"], "MARKER")).read() == "A\n"
    assert rl.identity(checkout["replaced"]) == old
    assert git(checkout["replaced"], "rev-parse", "HEAD") == checkout["B"]
    assert open(os.path.join(checkout["replaced"], "MARKER")).read() == "B\n"
    assert not os.path.lexists(checkout["release"])
    record = json.load(open(checkout["journal"]))
    assert record["replaced"] == checkout["replaced"] and record["switched_at"]
    assert stat.S_IMODE(os.stat(checkout["journal"]).st_mode) == 0o600


def test_a_second_switch_is_a_no_op(checkout):
    rolled_back(checkout)
    rl.switch(checkout["path"], checkout["journal"])
    journal = open(checkout["journal"]).read()
    result = rl.switch(checkout["path"], checkout["journal"])
    assert result["switched_before"] is True and result["changed"] is False
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["A"]
    assert git(checkout["replaced"], "rev-parse", "HEAD") == checkout["B"]
    assert open(checkout["journal"]).read() == journal


def test_a_switch_interrupted_between_the_two_renames_is_finished(checkout):
    rolled_back(checkout)
    os.rename(checkout["path"], checkout["replaced"])  # the fallback's first rename, then a crash
    result = rl.switch(checkout["path"], checkout["journal"])
    assert result["changed"] is True
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["A"]
    assert git(checkout["replaced"], "rev-parse", "HEAD") == checkout["B"]
    assert not os.path.lexists(checkout["release"])
    again = rl.switch(checkout["path"], checkout["journal"])
    assert again["switched_before"] is True and again["changed"] is False


def test_a_switch_interrupted_after_the_exchange_moves_the_old_checkout_aside(checkout):
    rolled_back(checkout)
    assert rl._exchange(checkout["path"], checkout["release"])  # pylint: disable=protected-access
    result = rl.switch(checkout["path"], checkout["journal"])
    assert result["switched_before"] is True and result["changed"] is True
    assert git(checkout["replaced"], "rev-parse", "HEAD") == checkout["B"]
    assert not os.path.lexists(checkout["release"])


def test_check_mode_switch_changes_nothing(checkout):
    rolled_back(checkout)
    live, prepared = rl.identity(checkout["path"]), rl.identity(checkout["release"])
    journal = open(checkout["journal"]).read()
    result = rl.switch(checkout["path"], checkout["journal"], check_mode=True)
    assert result["changed"] is True
    assert rl.identity(checkout["path"]) == live and rl.identity(checkout["release"]) == prepared
    assert not os.path.lexists(checkout["replaced"])
    assert open(checkout["journal"]).read() == journal


def test_switch_without_a_journal_fails_naming_the_journal(checkout):
    with pytest.raises(rl.ReleaseError) as info:
        rl.switch(checkout["path"], checkout["journal"])
    assert checkout["journal"] in str(info.value) and "No release was prepared" in str(info.value)
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["B"]


def test_a_switch_refuses_a_replaced_directory_that_is_not_its_own(checkout):
    rolled_back(checkout)
    os.makedirs(checkout["replaced"])
    open(os.path.join(checkout["replaced"], "someone-elses"), "w").close()
    live, prepared = rl.identity(checkout["path"]), rl.identity(checkout["release"])
    journal = open(checkout["journal"]).read()
    with pytest.raises(rl.ReleaseError, match="%s already exists" % checkout["replaced"]):
        rl.switch(checkout["path"], checkout["journal"])
    assert rl.identity(checkout["path"]) == live and rl.identity(checkout["release"]) == prepared
    assert os.listdir(checkout["replaced"]) == ["someone-elses"]
    assert open(checkout["journal"]).read() == journal


def test_a_switch_refuses_a_prepared_copy_that_was_replaced(checkout):
    rolled_back(checkout)
    os.rename(checkout["release"], checkout["release"] + ".moved")
    os.makedirs(checkout["release"])
    with pytest.raises(rl.ReleaseError, match="is gone or was replaced"):
        rl.switch(checkout["path"], checkout["journal"])
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["B"]
    assert not os.path.lexists(checkout["replaced"])


# --- 4. drop ----------------------------------------------------------------------------------

def test_drop_removes_the_copy_and_the_journal_when_not_switched(checkout):
    prepare(checkout)
    os.makedirs(checkout["partial"])
    live = tree(checkout["path"])
    result = rl.drop(checkout["path"], checkout["journal"])
    assert result["changed"] is True
    assert sorted(result["removed"]) == sorted([checkout["release"], checkout["partial"]])
    assert not os.path.lexists(checkout["release"]) and not os.path.lexists(checkout["partial"])
    assert not os.path.lexists(checkout["journal"])
    assert tree(checkout["path"]) == live
    assert rl.drop(checkout["path"], checkout["journal"])["changed"] is False


def test_check_mode_drop_removes_nothing(checkout):
    prepare(checkout)
    result = rl.drop(checkout["path"], checkout["journal"], check_mode=True)
    assert result["changed"] is True and result["removed"] == [checkout["release"]]
    assert os.path.isdir(checkout["release"]) and os.path.exists(checkout["journal"])


def test_drop_after_the_switch_keeps_everything(checkout):
    rolled_back(checkout)
    rl.switch(checkout["path"], checkout["journal"])
    result = rl.drop(checkout["path"], checkout["journal"])
    assert result["kept"] == "live" and result["changed"] is False and result["removed"] == []
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["A"]
    assert git(checkout["replaced"], "rev-parse", "HEAD") == checkout["B"]
    assert os.path.exists(checkout["journal"])


def test_drop_refuses_when_the_live_path_is_missing_mid_switch(checkout):
    """Interrupted between the fallback's two renames, the prepared copy is the only release that
    can go to the path: drop must not remove it."""
    rolled_back(checkout)
    os.rename(checkout["path"], checkout["replaced"])
    with pytest.raises(rl.ReleaseError, match="%s is missing" % checkout["path"]):
        rl.drop(checkout["path"], checkout["journal"])
    assert git(checkout["release"], "rev-parse", "HEAD") == checkout["A"]
    assert os.path.isdir(checkout["replaced"]) and os.path.exists(checkout["journal"])
    rl.switch(checkout["path"], checkout["journal"])  # and the switch can still be finished
    assert git(checkout["path"], "rev-parse", "HEAD") == checkout["A"]


# --- 5. the releases layout -------------------------------------------------------------------

def make_releases(tmp_path, names=("r1", "r2")):
    """<root>/releases/{<old>,<live>}: the first a checkout at A (tag v1), the second at B;
    current -> releases/<live>. The repository also has C, a commit no release holds."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    a = commit(origin, "A", {"MARKER": "A\n"}, tag="v1")
    b = commit(origin, "B", {"MARKER": "B\n"})
    c = commit(origin, "C", {"MARKER": "C\n"}, tag="v3")
    root = tmp_path / "srv" / "app"
    (root / "releases").mkdir(parents=True)
    for name, sha in zip(names, (a, b)):
        subprocess.run(["git", "clone", "-q", str(origin), str(root / "releases" / name)], env=GIT_ENV, check=True)
        git(root / "releases" / name, "checkout", "-q", sha)
    os.symlink("releases/" + names[1], root / "current")
    return {"root": str(root), "path": str(root / "current"), "dir": str(root / "releases"),
            "r1": str(root / "releases" / names[0]), "r2": str(root / "releases" / names[1]),
            "journal": str(tmp_path / "work" / RID / "release.json"), "A": a, "B": b, "C": c,
            "copy": str(root / "releases" / ("rollback-" + RID))}


@pytest.fixture
def releases(tmp_path):
    """releases/{r1,r2}: r1 at A, r2 at B and live (see make_releases)."""
    return make_releases(tmp_path)


def rprepare(r, **kwargs):
    return rl.prepare(run_command, r["path"], RID, r["journal"], **kwargs)


def test_releases_prepare_reuses_the_release_of_a_tag_resolved_in_the_live_git(releases):
    listing = sorted(os.listdir(releases["dir"]))
    result = rprepare(releases, commit="v1")
    assert result["layout"] == "releases"
    assert result["release"] == releases["r1"] and result["reused"] is True
    assert result["changed"] is False and result["created"] is False
    assert result["previous"] == releases["r2"]
    assert sorted(os.listdir(releases["dir"])) == listing  # nothing copied
    assert json.load(open(releases["journal"]))["identity"] == rl.identity(releases["r1"])


def test_releases_prepare_reuses_a_release_known_by_its_revision_file(releases):
    subprocess.run(["rm", "-rf", releases["r1"]], check=True)
    os.makedirs(releases["r1"])
    open(os.path.join(releases["r1"], "REVISION"), "w").write(releases["A"] + "\n")
    result = rprepare(releases, commit="v1")
    assert result["release"] == releases["r1"] and result["reused"] is True and result["changed"] is False
    assert not os.path.lexists(releases["copy"])


def test_releases_prepare_copies_the_live_release_for_a_commit_no_release_holds(releases):
    result = rprepare(releases, commit="v3")
    assert result["release"] == releases["copy"] and result["reused"] is False
    assert result["created"] is True and result["changed"] is True
    assert git(releases["copy"], "rev-parse", "HEAD") == releases["B"]  # a copy of the live r2, to roll back
    assert tree(releases["copy"]) == tree(releases["r2"])
    assert sorted(os.listdir(releases["dir"])) == sorted(["r1", "r2", "rollback-" + RID])
    assert os.path.realpath(releases["path"]) == releases["r2"]  # still live
    again = rprepare(releases, commit="v3")
    assert again["changed"] is False and again["release"] == releases["copy"]


def test_releases_check_mode_prepare_copies_nothing(releases):
    result = rprepare(releases, commit=releases["C"], check_mode=True)
    assert result["changed"] is True and result["release"] == releases["copy"]
    assert not os.path.lexists(releases["copy"]) and not os.path.lexists(releases["journal"])


def test_releases_prepare_without_git_in_the_live_release_names_the_releases_present(releases):
    subprocess.run(["rm", "-rf", os.path.join(releases["r2"], ".git")], check=True)
    with pytest.raises(rl.ReleaseError) as info:
        rprepare(releases, commit=releases["C"])
    message = str(info.value)
    assert "is not a git checkout" in message and "(r1, r2)" in message and releases["C"] in message
    assert sorted(os.listdir(releases["dir"])) == ["r1", "r2"]
    # A name cannot be resolved without git either; the message says to give a full id.
    with pytest.raises(rl.ReleaseError, match="give the target as a full commit id"):
        rprepare(releases, commit="v1")


def test_releases_prepare_refuses_a_name_the_live_git_does_not_know(releases):
    with pytest.raises(rl.ReleaseError, match="v9 is not a commit of %s" % releases["r2"]):
        rprepare(releases, commit="v9")


def test_releases_switch_points_current_at_the_release_by_a_rename(releases):
    rprepare(releases, commit="v1")
    before = os.lstat(releases["path"]).st_ino
    result = rl.switch(releases["path"], releases["journal"])
    assert result["changed"] is True and result["previous"] == releases["r2"]
    assert os.path.islink(releases["path"])  # a symlink all along: replaced by a rename, not removed
    assert os.lstat(releases["path"]).st_ino != before
    assert os.readlink(releases["path"]) == releases["r1"]
    assert git(releases["path"], "rev-parse", "HEAD") == releases["A"]
    assert sorted(os.listdir(releases["root"])) == ["current", "releases"]  # no temporary symlink left
    assert os.path.isdir(releases["r2"])
    record = json.load(open(releases["journal"]))
    assert record["replaced"] == releases["r2"] and record["switched_at"]

    again = rl.switch(releases["path"], releases["journal"])
    assert again["switched_before"] is True and again["changed"] is False
    assert os.readlink(releases["path"]) == releases["r1"]

    kept = rl.drop(releases["path"], releases["journal"])
    assert kept["kept"] == "live" and kept["removed"] == []
    assert os.path.isdir(releases["r1"]) and os.readlink(releases["path"]) == releases["r1"]


@pytest.mark.skipif(not AS_ROOT, reason="giving a link another owner needs root")
def test_the_switch_keeps_the_owner_of_the_current_link(releases):
    os.lchown(releases["path"], *OWNER)
    rprepare(releases, commit="v1")
    rl.switch(releases["path"], releases["journal"])
    st = os.lstat(releases["path"])
    assert os.readlink(releases["path"]) == releases["r1"] and (st.st_uid, st.st_gid) == OWNER


def test_releases_check_mode_switch_changes_nothing(releases):
    rprepare(releases, commit="v1")
    result = rl.switch(releases["path"], releases["journal"], check_mode=True)
    assert result["changed"] is True
    assert os.readlink(releases["path"]) == "releases/r2"


def test_releases_prepare_after_the_switch_refuses(releases):
    rprepare(releases, commit="v1")
    rl.switch(releases["path"], releases["journal"])
    with pytest.raises(rl.ReleaseError, match="already live"):
        rprepare(releases, commit="v1")


def test_drop_of_a_reused_release_never_removes_it(releases):
    rprepare(releases, commit="v1")
    result = rl.drop(releases["path"], releases["journal"])
    assert result["removed"] == [] and result["changed"] is False
    assert git(releases["r1"], "rev-parse", "HEAD") == releases["A"]
    assert not os.path.exists(releases["journal"])
    assert os.readlink(releases["path"]) == "releases/r2"


def test_drop_removes_a_release_copied_for_the_rollback(releases):
    rprepare(releases, commit="v3")
    result = rl.drop(releases["path"], releases["journal"])
    assert result["removed"] == [releases["copy"]]
    assert sorted(os.listdir(releases["dir"])) == ["r1", "r2"]
    assert os.readlink(releases["path"]) == "releases/r2"


# --- 6. detect_layout -------------------------------------------------------------------------

def test_detect_layout_finds_each_layout(checkout, releases):
    assert rl.detect_layout(checkout["path"]) == "in_place"
    assert rl.detect_layout(releases["path"]) == "releases"
    assert rl.detect_layout(releases["path"], "releases") == "releases"


def test_a_given_layout_the_path_does_not_have_is_refused_naming_both(checkout, releases):
    with pytest.raises(rl.ReleaseError) as info:
        rl.detect_layout(checkout["path"], "releases")
    message = str(info.value)
    assert checkout["path"] + " is a directory" in message
    assert "given as releases" in message and "auto or in_place" in message
    with pytest.raises(rl.ReleaseError) as info:
        rl.detect_layout(releases["path"], "in_place")
    message = str(info.value)
    assert "is a symlink to %s" % releases["r2"] in message
    assert "given as in_place" in message and "auto or releases" in message


def test_detect_layout_refuses_a_missing_path_a_dangling_link_and_an_unknown_layout(tmp_path, checkout):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(rl.ReleaseError, match="%s does not exist" % missing):
        rl.detect_layout(missing)
    dangling = tmp_path / "current"
    os.symlink("releases/gone", dangling)
    with pytest.raises(rl.ReleaseError, match="which is not a directory"):
        rl.detect_layout(str(dangling))
    with pytest.raises(rl.ReleaseError, match="layout 'capistrano' is not one of auto, in_place, releases"):
        rl.detect_layout(checkout["path"], "capistrano")


# --- 7. the module ----------------------------------------------------------------------------

def module_args(c, **args):
    args.setdefault("path", c["path"])
    args.setdefault("rollback_id", RID)
    args.setdefault("journal", c["journal"])
    return args


def test_the_module_prepares_relocates_switches_and_keeps_the_live_release(capsys, checkout):
    path, release = checkout["path"], checkout["release"]

    result, failed = run_module(app_release, module_args(checkout, _ansible_check_mode=True), capsys)
    assert not failed and result["changed"] is True, result
    assert not os.path.lexists(release) and not os.path.lexists(checkout["journal"])

    result, failed = run_module(app_release, module_args(checkout, path=path + "/"), capsys)
    assert not failed, result
    assert result["changed"] is True and result["release"] == release and result["reused"] is False
    assert result["layout"] == "in_place"
    result, failed = run_module(app_release, module_args(checkout), capsys)
    assert not failed and result["changed"] is False and result["release"] == release, result

    git(release, "checkout", "-q", checkout["A"])
    venv = build_venv(release)
    result, failed = run_module(app_release, module_args(checkout, state="relocated"), capsys)
    assert not failed and result["changed"] is True, result
    assert venv["script"] in result["rewritten"] and venv["pth"] in result["rewritten"]
    result, failed = run_module(app_release, module_args(checkout, state="relocated"), capsys)
    assert not failed and result["changed"] is False and result["rewritten"] == [], result

    result, failed = run_module(app_release, module_args(checkout, state="switched", _ansible_check_mode=True),
                                capsys)
    assert not failed and result["changed"] is True, result
    assert os.path.isdir(release) and git(path, "rev-parse", "HEAD") == checkout["B"]

    result, failed = run_module(app_release, module_args(checkout, state="switched"), capsys)
    assert not failed, result
    assert result["changed"] is True and result["previous"] == checkout["replaced"]
    assert git(path, "rev-parse", "HEAD") == checkout["A"]
    proc = subprocess.run([os.path.join(path, ".venv", "bin", "show-prefix")], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.split()[0] == path + "/.venv", proc.stderr
    result, failed = run_module(app_release, module_args(checkout, state="switched"), capsys)
    assert not failed and result["changed"] is False and result["switched_before"] is True, result

    result, failed = run_module(app_release, module_args(checkout, state="absent"), capsys)
    assert not failed and result["changed"] is False and result["kept"] == "live", result
    assert git(path, "rev-parse", "HEAD") == checkout["A"] and os.path.isdir(checkout["replaced"])


def test_the_module_drops_a_copy_that_was_not_switched_to(capsys, checkout):
    result, failed = run_module(app_release, module_args(checkout), capsys)
    assert not failed, result
    result, failed = run_module(app_release, module_args(checkout, state="absent"), capsys)
    assert not failed and result["changed"] is True and result["removed"] == [checkout["release"]], result
    assert not os.path.lexists(checkout["release"]) and os.path.isdir(checkout["path"])


def test_the_module_reuses_a_release_in_the_releases_layout(capsys, releases):
    result, failed = run_module(app_release, module_args(releases, layout="releases", commit="v1"), capsys)
    assert not failed and result["reused"] is True and result["release"] == releases["r1"], result
    result, failed = run_module(app_release, module_args(releases, state="relocated"), capsys)
    assert not failed and result["changed"] is False and result["rewritten"] == [], result
    result, failed = run_module(app_release, module_args(releases, state="switched"), capsys)
    assert not failed and result["changed"] is True and os.readlink(releases["path"]) == releases["r1"], result


@pytest.mark.parametrize("args, message", [
    ({"rollback_id": "a/b"}, "rollback_id 'a/b' cannot name a directory."),
    ({"rollback_id": ""}, "rollback_id '' cannot name a directory."),
    ({"layout": "releases"}, "but the layout was given as releases"),
    ({"state": "switched"}, "No release was prepared for this rollback"),
    ({"state": "relocated"}, "No release was prepared for this rollback"),
    ({"state": "gone"}, "value of state must be one of: prepared, relocated, switched, absent"),
])
def test_the_module_fails_with_a_message(capsys, checkout, args, message):
    result, failed = run_module(app_release, module_args(checkout, **args), capsys)
    assert failed and message in result["msg"], result
    assert sorted(os.listdir(os.path.dirname(checkout["path"]))) == ["app"]
    assert not os.path.lexists(checkout["journal"])


def test_the_module_names_the_journal_it_cannot_read(capsys, checkout):
    os.makedirs(os.path.dirname(checkout["journal"]))
    open(checkout["journal"], "w").write("garbage")
    result, failed = run_module(app_release, module_args(checkout, state="switched"), capsys)
    assert failed and checkout["journal"] in result["msg"], result


# --- 8. the build ahead builds the release it prepared, never the live one ---------------------

def live_venv(release, name="show-prefix"):
    """A virtualenv in a live release with a console script as pip writes one: its shebang names
    the virtualenv's python by the release's path."""
    venv = os.path.join(release, ".venv")
    subprocess.run(["python3", "-m", "venv", "--without-pip", venv], check=True)
    script = os.path.join(venv, "bin", name)
    with open(script, "w") as handle:
        handle.write("#!%s/bin/python\nimport sys\nprint(sys.prefix)\n" % venv)
    os.chmod(script, 0o755)
    return script


def prefix_of(script):
    proc = subprocess.run([script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_in_place_prepare_points_the_copy_s_virtualenv_at_the_copy(checkout):
    """pip run in the copy (``<copy>/.venv/bin/pip``) must install into the copy: before, the
    copy's scripts ran the live checkout's interpreter."""
    script = live_venv(checkout["path"])
    live = tree(checkout["path"])
    prepare(checkout)
    copy_script = os.path.join(checkout["release"], ".venv", "bin", "show-prefix")
    assert prefix_of(copy_script) == checkout["release"] + "/.venv"
    for name in ("show-prefix", "activate"):
        assert checkout["path"] + "/" not in open(os.path.join(checkout["release"], ".venv", "bin", name)).read()
    assert checkout["path"] + "/" not in open(os.path.join(checkout["release"], ".venv", "pyvenv.cfg")).read()
    assert prefix_of(script) == checkout["path"] + "/.venv"
    assert tree(checkout["path"]) == live
    # Relocated before the switch, the same script names the live path again (unchanged behaviour).
    rl.relocate(checkout["release"], checkout["path"])
    assert open(copy_script).readline() == "#!%s/.venv/bin/python\n" % checkout["path"]


def test_releases_prepare_points_a_made_release_s_virtualenv_at_itself(releases):
    script = live_venv(releases["r2"])
    result = rprepare(releases, commit="v3")
    assert result["created"] is True
    copy_script = os.path.join(releases["copy"], ".venv", "bin", "show-prefix")
    assert prefix_of(copy_script) == releases["copy"] + "/.venv"
    assert releases["r2"] not in open(os.path.join(releases["copy"], ".venv", "pyvenv.cfg")).read()
    assert prefix_of(script) == releases["r2"] + "/.venv"
    # What the build checks afterwards finds nothing of r2 left in it.
    result = rl.after_build(run_command, releases["path"], releases["journal"])
    assert result["foreign"] == [] and result["changed"] is False


def test_relocated_refuses_a_made_release_that_uses_another_release(capsys, releases):
    shared = os.path.join(releases["root"], "shared", "log")
    os.makedirs(shared)
    rprepare(releases, commit="v3")
    copy = releases["copy"]
    os.symlink("../r1/MARKER", os.path.join(copy, "old-marker"))   # relative, into r1
    os.makedirs(os.path.join(copy, "public"))
    os.symlink(releases["r2"] + "/static", os.path.join(copy, "public", "static"))  # absolute, dangling, into r2
    os.symlink(shared, os.path.join(copy, "log"))  # shared/: fine
    os.symlink("../MARKER", os.path.join(copy, "public", "marker"))  # its own: fine
    venv = os.path.join(copy, ".venv")
    subprocess.run(["python3", "-m", "venv", "--without-pip", venv], check=True)
    lib = os.path.join(venv, "lib")
    pth = os.path.join(lib, os.listdir(lib)[0], "site-packages", "app.pth")
    open(pth, "w").write(releases["r1"] + "/src\n")
    result, failed = run_module(app_release, module_args(releases, state="relocated"), capsys)
    assert failed, result
    message = result["msg"]
    assert "still uses files of other releases (3)" in message and "routine pruning" in message, message
    assert os.path.join(copy, "old-marker") in message and os.path.join(copy, "public", "static") in message
    assert pth + " (names r1)" in message
    assert os.path.join(copy, "log") not in message and os.path.join(copy, "public", "marker") not in message
    assert os.readlink(releases["path"]) == "releases/r2"


def test_relocated_reports_but_leaves_a_reused_release_that_uses_another(capsys, releases):
    os.symlink(releases["r2"] + "/MARKER", os.path.join(releases["r1"], "newer-marker"))
    open(os.path.join(releases["r1"], "REVISION"), "w").write("0" * 40 + "\n")
    result, failed = run_module(app_release, module_args(releases, commit="v1"), capsys)
    assert not failed and result["reused"] is True and "live_fingerprint" not in result, result
    result, failed = run_module(app_release, module_args(releases, state="relocated"), capsys)
    assert not failed and result["changed"] is False and result["revision"] == "", result
    assert result["foreign"] == ["%s/newer-marker (a link to %s/MARKER)" % (releases["r1"], releases["r2"])]
    assert any("newer-marker" in text for text in warning_messages(result)), result
    assert open(os.path.join(releases["r1"], "REVISION")).read() == "0" * 40 + "\n"  # the team's: not changed


def test_relocated_makes_the_revision_of_a_made_release_name_its_commit(releases):
    revision = os.path.join(releases["r2"], "REVISION")
    open(revision, "w").write(releases["B"] + "\n")
    os.chmod(revision, 0o640)
    if AS_ROOT:
        os.chown(revision, *OWNER)
    rprepare(releases, commit="v3")
    git(releases["copy"], "checkout", "-q", releases["C"])  # what code_rollback does there
    made = os.path.join(releases["copy"], "REVISION")
    assert open(made).read() == releases["B"] + "\n"
    result = rl.after_build(run_command, releases["path"], releases["journal"])
    assert result["revision"] == releases["C"] and result["changed"] is True
    assert open(made).read() == releases["C"] + "\n"
    st = os.stat(made)
    assert stat.S_IMODE(st.st_mode) == 0o640
    if AS_ROOT:
        assert (st.st_uid, st.st_gid) == OWNER
    assert open(revision).read() == releases["B"] + "\n"
    assert not [n for n in os.listdir(releases["copy"]) if n.startswith("REVISION.")]
    assert rl.git_head(run_command, releases["copy"]) == releases["C"]
    again = rl.after_build(run_command, releases["path"], releases["journal"])
    assert again["revision"] == "" and again["changed"] is False


def test_relocated_writes_no_revision_where_the_layout_has_none(releases):
    rprepare(releases, commit="v3")
    assert rl.after_build(run_command, releases["path"], releases["journal"])["revision"] == ""
    assert not os.path.lexists(os.path.join(releases["copy"], "REVISION"))


def utc_now():
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


@pytest.mark.parametrize("names, pattern", [
    (("20250101120000", "20251120100000"), r"[0-9]{14}"),          # Capistrano
    (("20250101120000Z", "20251120100000Z"), r"[0-9]{14}Z"),       # ansistrano's default
    (("20250101120000", "20991231235959"), r"21000101000000"),     # later than the latest, even one ahead
    (("7", "12"), r"13"),                                           # Deployer: numbers, not text
    (("20250101120000Z", "20251120100000"), r"rollback-" + RID),   # mixed: not one style
    (("v1.4.0", "v1.5.0"), r"rollback-" + RID),
])
def test_a_made_release_is_named_as_the_team_names_its_releases(tmp_path, names, pattern):
    r = make_releases(tmp_path, names)
    before = utc_now()
    result = rprepare(r, commit="v3")
    name = os.path.basename(result["release"])
    assert re.fullmatch(pattern, name), name
    if pattern in (r"[0-9]{14}", r"[0-9]{14}Z"):
        assert before <= name[:14] <= utc_now()  # the current UTC time
    assert result["created"] is True and json.load(open(r["journal"]))["created"] is True
    assert sorted(os.listdir(r["dir"])) == sorted(list(names) + [name])
    assert git(result["release"], "rev-parse", "HEAD") == r["B"]
    # A made release is still this rollback's: drop removes it, and never a release of the team.
    assert rl.drop(r["path"], r["journal"])["removed"] == [result["release"]]
    assert sorted(os.listdir(r["dir"])) == sorted(names)


def interrupted_after(command):
    """A runner that runs each command, then stops the run (as a kill would) after ``command``."""
    def runner(argv):
        outcome = run_command(argv)
        if argv[0] == command:
            raise KeyboardInterrupt
        return outcome
    return runner


def test_a_run_stopped_during_the_copy_reuses_the_name_and_leaves_no_orphan(tmp_path):
    r = make_releases(tmp_path, ("20261101120000Z", "20261120100000Z"))
    with pytest.raises(KeyboardInterrupt):
        rl.prepare(interrupted_after("cp"), r["path"], RID, r["journal"], commit="v3")
    record = json.load(open(r["journal"]))
    name = os.path.basename(record["release"])
    assert record["created"] is True and record["identity"] is None and re.fullmatch(r"[0-9]{14}Z", name)
    assert not os.path.lexists(record["release"]) and os.path.isdir(record["partial"])
    # A later release, deployed meanwhile, would give a new name a later time: the recorded one is kept.
    os.makedirs(os.path.join(r["dir"], "20991231235959Z"))
    result = rprepare(r, commit="v3")
    assert result["release"] == record["release"] and result["changed"] is True
    assert sorted(os.listdir(r["dir"])) == sorted(["20261101120000Z", "20261120100000Z", "20991231235959Z", name])

    # Stopped after the copy was recorded, before its rename: the next run gives it its name.
    os.rename(result["release"], record["partial"])
    again = rprepare(r, commit="v3")
    assert again["release"] == result["release"] and again["identity"] == result["identity"]
    assert sorted(os.listdir(r["dir"])) == sorted(["20261101120000Z", "20261120100000Z", "20991231235959Z", name])
    assert rl.drop(r["path"], r["journal"])["removed"] == [result["release"]]
    assert sorted(os.listdir(r["dir"])) == ["20261101120000Z", "20261120100000Z", "20991231235959Z"]


def test_drop_after_a_run_stopped_during_the_copy_removes_it(tmp_path):
    r = make_releases(tmp_path, ("1", "2"))
    with pytest.raises(KeyboardInterrupt):
        rl.prepare(interrupted_after("cp"), r["path"], RID, r["journal"], commit="v3")
    assert json.load(open(r["journal"]))["release"] == os.path.join(r["dir"], "3")
    result = rl.drop(r["path"], r["journal"])
    assert result["removed"] == [os.path.join(r["dir"], ".rollback-%s.partial" % RID)]
    assert sorted(os.listdir(r["dir"])) == ["1", "2"] and not os.path.exists(r["journal"])


def test_a_recorded_name_a_team_release_took_meanwhile_is_chosen_again(tmp_path):
    r = make_releases(tmp_path, ("1", "2"))
    with pytest.raises(KeyboardInterrupt):
        rl.prepare(interrupted_after("cp"), r["path"], RID, r["journal"], commit="v3")
    os.makedirs(os.path.join(r["dir"], "3", "theirs"))  # a deploy made release 3 before the resume
    result = rprepare(r, commit="v3")
    assert result["release"] == os.path.join(r["dir"], "4")
    assert rl.drop(r["path"], r["journal"])["removed"] == [os.path.join(r["dir"], "4")]
    assert sorted(os.listdir(r["dir"])) == ["1", "2", "3"] and os.listdir(os.path.join(r["dir"], "3")) == ["theirs"]


def test_relocated_refuses_when_the_build_changed_the_live_release(capsys, releases):
    live_venv(releases["r2"])
    rprepare(releases, commit="v3")
    lib = os.path.join(releases["r2"], ".venv", "lib")
    site = os.path.join(lib, os.listdir(lib)[0], "site-packages")
    # What a pip run on the live release's interpreter leaves: a package in its virtualenv.
    os.makedirs(os.path.join(site, "django"))
    open(os.path.join(site, "django", "__init__.py"), "w").write("VERSION = (3, 2)\n")
    # What the site itself writes into its release as it serves is not the build's: an upload, a
    # file rewritten, the serving interpreter's byte code.
    open(os.path.join(releases["r2"], "MARKER"), "w").write("C\n")
    os.makedirs(os.path.join(releases["r2"], "media"))
    open(os.path.join(releases["r2"], "media", "avatar.png"), "wb").write(b"\0")
    os.makedirs(os.path.join(releases["r2"], "__pycache__"))
    open(os.path.join(releases["r2"], "__pycache__", "app.cpython-311.pyc"), "wb").write(b"\0")
    result, failed = run_module(app_release, module_args(releases, state="relocated"), capsys)
    assert failed, result
    message = result["msg"]
    assert ("The build ahead changed the live release's virtualenv %s/.venv while the site served (2 paths"
            % releases["r2"]) in message
    assert "%s/django (new)" % site in message and "%s/django/__init__.py (new)" % site in message
    assert "MARKER" not in message and "media" not in message and "__pycache__" not in message
    assert os.readlink(releases["path"]) == "releases/r2"


def live_checkout_venv(checkout):
    """A virtualenv in the live checkout, made before the release is prepared."""
    venv = os.path.join(checkout["path"], ".venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    return venv


def test_relocated_in_place_refuses_a_changed_live_virtualenv_before_rewriting_the_copy(checkout):
    live = live_checkout_venv(checkout)
    prepare(checkout)
    venv = build_venv(checkout["release"])
    before = open(venv["script"]).read()
    os.utime(os.path.join(live, "pyvenv.cfg"), ns=(1, 1))
    with pytest.raises(rl.ReleaseError, match=r"pyvenv.cfg \(changed\)"):
        rl.after_build(run_command, checkout["path"], checkout["journal"])
    assert open(venv["script"]).read() == before
    os.unlink(os.path.join(live, "bin", "python"))
    with pytest.raises(rl.ReleaseError) as info:
        rl.after_build(run_command, checkout["path"], checkout["journal"])
    assert "2 paths" in str(info.value) and os.path.join(live, "bin", "python") + " (gone)" in str(info.value)


def test_what_the_site_writes_into_its_checkout_does_not_stop_the_build(checkout):
    live_checkout_venv(checkout)
    prepare(checkout)
    build_venv(checkout["release"])
    os.utime(os.path.join(checkout["path"], "manage.py"), ns=(1, 1))
    open(os.path.join(checkout["path"], "celerybeat-schedule"), "w").write("x")
    assert rl.after_build(run_command, checkout["path"], checkout["journal"])["rewritten"]


def test_relocated_names_ten_changed_paths_and_how_many_more(checkout):
    live = live_checkout_venv(checkout)
    prepare(checkout)
    build_venv(checkout["release"])
    for number in range(12):
        open(os.path.join(live, "bin", "tool-%02d" % number), "w").close()
    with pytest.raises(rl.ReleaseError) as info:
        rl.after_build(run_command, checkout["path"], checkout["journal"])
    message = str(info.value)
    assert "(12 paths" in message and "tool-09 (new)" in message and "tool-10" not in message
    assert "(and 2 more)" in message


def test_a_removal_that_fails_names_the_release_left(capsys, checkout):
    """Interrupted mid-switch, nothing is removed: the failure names the release the journal records, which
    the release role's drop says is left to remove by hand."""
    rolled_back(checkout)
    os.rename(checkout["path"], checkout["replaced"])
    result, failed = run_module(app_release, module_args(checkout, state="absent"), capsys)
    assert failed and "%s is missing" % checkout["path"] in result["msg"], result
    assert result["release"] == checkout["release"] and os.path.isdir(checkout["release"])
    # A journal that is not one leaves nothing to name.
    open(checkout["journal"], "w").write("garbage")
    result, failed = run_module(app_release, module_args(checkout, state="absent"), capsys)
    assert failed and result["release"] is None, result
    # Only a removal names what is left.
    result, failed = run_module(app_release, module_args(checkout, state="switched"), capsys)
    assert failed and "release" not in result, result
