# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release a rollback switches to, prepared next to the live one while the site serves.

Two layouts:

* ``in_place``: the live path is the checkout itself (``/srv/app`` with its ``.venv``). The
  release is a full copy next to it (``/srv/app.rollback-<id>``), rolled back and rebuilt there.
  A virtualenv holds its own path (script shebangs, ``activate``, ``.pth`` files), so before the
  switch those paths are rewritten to the live path (:func:`relocate`); the switch is then one
  atomic exchange of the two directories (``renameat2(RENAME_EXCHANGE)``), after which every path
  the programs use (``/srv/app/.venv/bin/gunicorn``) is the rolled-back release's.
* ``releases``: the live path is a symlink (``current``) to a directory of ``releases/`` (the
  Capistrano / ansistrano / Deployer layout). The release is a directory of its own there, reused
  when one holds the target commit, else copied from the live one; the switch points the symlink
  at it with a rename over it (atomic). Nothing is relocated: a release keeps its path.

The prepared release is recognised by its inode, recorded in a journal file: a resumed switch
knows whether the exchange already happened, and nothing ever deletes the live release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import stat
import time

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import private_directory, sync_directory, write_atomic

LAYOUTS = ("auto", "in_place", "releases")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class ReleaseError(Exception):
    """A refusal or a failure, said for the engineer running the rollback."""


def detect_layout(path, layout="auto"):
    """``in_place`` or ``releases`` for the live ``path``; refuses what is neither."""
    if layout not in LAYOUTS:
        raise ReleaseError("layout %r is not one of %s" % (layout, ", ".join(LAYOUTS)))
    if os.path.islink(path):
        found = "releases"
    elif os.path.isdir(path):
        found = "in_place"
    else:
        raise ReleaseError("%s does not exist (or is not a directory): it should be the application's "
                           "checkout, or the symlink to its current release." % path)
    if layout != "auto" and layout != found:
        raise ReleaseError(
            "%s is %s, but the layout was given as %s. %s" % (
                path, "a symlink to " + os.path.realpath(path) if found == "releases" else "a directory",
                layout, "Set rollback_release_layout to auto or %s." % found))
    if found == "releases" and not os.path.isdir(os.path.realpath(path)):
        raise ReleaseError("%s points at %s, which is not a directory." % (path, os.path.realpath(path)))
    return found


def in_place_names(path, rollback_id):
    """The prepared copy, its partial form while copying, and where the replaced checkout goes."""
    path = path.rstrip("/")
    return {"release": "%s.rollback-%s" % (path, rollback_id),
            "partial": "%s.rollback-%s.partial" % (path, rollback_id),
            "replaced": "%s.replaced-%s" % (path, rollback_id)}


def identity(path):
    """[device, inode] of ``path`` (a symlink is followed: ``current`` gives its release's), or None when missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino]


def read_journal(journal):
    try:
        with open(journal, "r") as handle:
            return json.load(handle)
    except (IOError, OSError):
        return None
    except ValueError:
        raise ReleaseError("%s is not a journal this module wrote (not JSON): move it away and run again." % journal)


def write_journal(journal, record):
    private_directory(os.path.dirname(journal))
    write_atomic(journal, json.dumps(record, sort_keys=True) + "\n")


def git_head(run_command, directory):
    """The commit a release holds: ``git rev-parse HEAD`` of a checkout, else its REVISION file."""
    if os.path.exists(os.path.join(directory, ".git")):
        rc, out, _err = run_command(["git", "-c", "safe.directory=*", "-C", directory, "rev-parse", "HEAD"])
        if rc == 0 and SHA_RE.match(out.strip()):
            return out.strip()
    try:
        with open(os.path.join(directory, "REVISION"), "r") as handle:
            revision = handle.read().strip()
    except (IOError, OSError):
        return None
    return revision if SHA_RE.match(revision) else None


def resolve_commit(run_command, directory, ref):
    """The full commit id of ``ref`` in the checkout ``directory`` (a full id is taken as it is)."""
    if SHA_RE.match(ref or ""):
        return ref
    if not os.path.exists(os.path.join(directory, ".git")):
        raise ReleaseError("%s is not a git checkout, so %r cannot be resolved there: give the target as a full "
                           "commit id." % (directory, ref))
    rc, out, err = run_command(["git", "-c", "safe.directory=*", "-C", directory, "rev-parse", "--verify",
                                "--quiet", "%s^{commit}" % ref])
    if rc != 0:
        raise ReleaseError("%s is not a commit of %s: check the name or fetch it first. %s"
                           % (ref, directory, (err or "").strip()))
    return out.strip()


def copy_tree(run_command, source, partial, final):
    """Copy ``source`` (owners, modes, links, times kept) to ``final`` through ``partial``, so that
    ``final`` exists only complete."""
    if os.path.lexists(partial):
        shutil.rmtree(partial)
    rc, _out, err = run_command(["cp", "-a", "--reflink=auto", source, partial])
    if rc != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ReleaseError("Copying %s to %s failed (nothing was changed; the copy was removed): %s"
                           % (source, partial, (err or "").strip()[-500:]))
    os.rename(partial, final)
    sync_directory(os.path.dirname(final))


def prepare(run_command, path, rollback_id, journal, layout="auto", commit=None, check_mode=False):
    """Make (or find again) the release to switch to; record it in ``journal``."""
    layout = detect_layout(path, layout)
    record = read_journal(journal)
    if record and record.get("path") != path:
        raise ReleaseError("%s records a release of %s, not of %s: another rollback id uses this work directory."
                           % (journal, record.get("path"), path))
    live = os.path.realpath(path)
    # Checked before the release's own name: after an in_place switch that name is gone.
    if record and record.get("identity") and (
            identity(path) == record["identity"] or (layout == "releases" and live == record.get("release"))):
        raise ReleaseError("The release prepared by rollback %s is already live at %s: the switch happened. "
                           "Resume the rollback (the code phase), do not prepare again." % (rollback_id, path))
    if record and record.get("release") and identity(record["release"]) == record.get("identity"):
        return dict(record, changed=False, live=live, reused_prepared=True)
    if layout == "in_place":
        names = in_place_names(path, rollback_id)
        # The copy is this rollback's own (by its name), also when an earlier run made it.
        release, reused, created, copied = names["release"], False, True, False
        if not os.path.isdir(release):
            if not check_mode:
                copy_tree(run_command, path, names["partial"], release)
            copied = True
    else:
        releases_dir = os.path.dirname(live)
        wanted = resolve_commit(run_command, live, commit) if commit else None
        release, reused, created, copied = None, False, False, False
        if wanted:
            for name in sorted(os.listdir(releases_dir)):
                candidate = os.path.join(releases_dir, name)
                if candidate != live and os.path.isdir(candidate) and not os.path.islink(candidate) \
                        and git_head(run_command, candidate) == wanted:
                    release, reused = candidate, True
                    break
        if release is None:
            release = os.path.join(releases_dir, "rollback-%s" % rollback_id)
            if not os.path.isdir(release):
                if not os.path.exists(os.path.join(live, ".git")):
                    raise ReleaseError(
                        "No release of %s in %s, and the live release %s is not a git checkout to make one from: "
                        "deploy %s into %s with your deployment tool first, or roll back to a release that is "
                        "there (%s)." % (commit, releases_dir, live, commit, releases_dir,
                                         ", ".join(sorted(os.listdir(releases_dir)))))
                if not check_mode:
                    copy_tree(run_command, live, os.path.join(releases_dir, ".rollback-%s.partial" % rollback_id),
                              release)
                copied = True
            created = True
    record = {"path": path, "layout": layout, "release": release, "reused": reused, "created": created,
              "previous": live, "identity": identity(release), "rollback_id": rollback_id,
              "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if not check_mode:
        write_journal(journal, record)
    return dict(record, changed=copied, live=live, reused_prepared=False)


def _venv_files(venv):
    """The files of a virtualenv that hold its own path: scripts and activate files in bin/, the
    .pth and .egg-link files and direct_url.json of site-packages."""
    found = []
    bindir = os.path.join(venv, "bin")
    if os.path.isdir(bindir):
        for name in sorted(os.listdir(bindir)):
            candidate = os.path.join(bindir, name)
            if os.path.isfile(candidate) and not os.path.islink(candidate):
                found.append(candidate)
    lib = os.path.join(venv, "lib")
    if os.path.isdir(lib):
        for python in sorted(os.listdir(lib)):
            site = os.path.join(lib, python, "site-packages")
            if not os.path.isdir(site):
                continue
            for name in sorted(os.listdir(site)):
                candidate = os.path.join(site, name)
                if name.endswith((".pth", ".egg-link")) and os.path.isfile(candidate):
                    found.append(candidate)
                elif name.endswith(".dist-info") and os.path.isfile(os.path.join(candidate, "direct_url.json")):
                    found.append(os.path.join(candidate, "direct_url.json"))
    return found


def relocate(release, path, venv=".venv", check_mode=False):
    """Rewrite ``release``'s own path to ``path`` in the files of its virtualenv; returns the files
    rewritten. Refuses when any of them still names ``release`` afterwards."""
    # The release's path as a whole name: followed by "/" (its files), or by the end of the name
    # (an editable install of the release itself: .pth, .egg-link, file:// in direct_url.json), but
    # not <release>0 or <release>.partial.
    old = re.compile(re.escape(release.rstrip("/").encode()) + b"(?![^/\\s\"'\\x00:;,)\\]}])")
    new = path.rstrip("/").encode()
    venv_dir = os.path.join(release, venv)
    if not os.path.isdir(venv_dir):
        raise ReleaseError("%s has no virtualenv %s: the backend was not installed into the release." % (release, venv))
    rewritten = []
    for name in _venv_files(venv_dir):
        with open(name, "rb") as handle:
            content = handle.read()
        if not old.search(content):
            continue
        rewritten.append(name)
        if check_mode:
            continue
        st = os.lstat(name)
        tmp = name + ".rb-relocate"
        with open(tmp, "wb") as handle:
            handle.write(old.sub(lambda match: new, content))
        os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.rename(tmp, name)
    if not check_mode:
        left = [name for name in _venv_files(venv_dir) if old.search(open(name, "rb").read())]
        if left:
            raise ReleaseError("%s still names %s after the rewrite: %s" % (venv_dir, release, ", ".join(left)))
    return rewritten


def _exchange(first, second):
    """Swap two paths atomically; False when the kernel or the filesystem cannot."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, first.encode(), _AT_FDCWD, second.encode(), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), first)


def _exdev(source):
    return ReleaseError(
        "%s cannot be renamed in place on this filesystem (EXDEV: an overlay filesystem's lower layer, "
        "e.g. a directory baked into a container image): the switch needs a rename. Nothing was switched. "
        "Run with rollback_build_ahead=false to rebuild in place instead." % source)


def _rename(source, target):
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise _exdev(source)
        raise


def switch(path, journal, check_mode=False):
    """Make the release recorded in ``journal`` the live one at ``path``; idempotent."""
    record = read_journal(journal)
    if not record or not record.get("identity"):
        raise ReleaseError("No release was prepared for this rollback (%s is missing): run the build ahead "
                           "first (rollback_build_ahead=true), or rebuild in place (rollback_build_ahead=false)."
                           % journal)
    if record.get("path") != path:
        raise ReleaseError("%s records a release of %s, not of %s." % (journal, record.get("path"), path))
    release = record["release"]
    result = {"path": path, "layout": record["layout"], "release": release, "changed": False}
    if record["layout"] == "releases":
        previous = os.path.realpath(path)
        result["previous"] = previous
        if identity(release) != record["identity"]:
            raise ReleaseError("The release prepared ahead, %s, is gone or was replaced: prepare it again (resume "
                               "after resetting the build_ahead phase)." % release)
        if previous == os.path.realpath(release):
            result["switched_before"] = True
            return result
        result["changed"] = True
        if check_mode:
            return result
        tmp = "%s.rb-switch-%d" % (path, os.getpid())
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(release, tmp)
        os.rename(tmp, path)
        sync_directory(os.path.dirname(path))
        record.update(switched_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), replaced=previous)
        write_journal(journal, record)
        return result
    replaced = in_place_names(path, record["rollback_id"])["replaced"]
    result["previous"] = replaced
    live, prepared = identity(path), identity(release)
    if live == record["identity"]:
        # Switched by an earlier run; the replaced checkout may still be under the release's name.
        result["switched_before"] = True
        if prepared is not None and not os.path.lexists(replaced):
            if not check_mode:
                _rename(release, replaced)
            result["changed"] = True
        return result
    if live is None and prepared == record["identity"] and os.path.isdir(replaced):
        # Interrupted between the two renames of the fallback: finish it.
        result["changed"] = True
        if not check_mode:
            _rename(release, path)
            sync_directory(os.path.dirname(path))
        return result
    if prepared != record["identity"]:
        raise ReleaseError("The release prepared ahead, %s, is gone or was replaced (journal %s): nothing was "
                           "switched. Prepare it again." % (release, journal))
    if live is None:
        raise ReleaseError("%s is missing and %s was not kept: nothing was switched. Look at %s before going on."
                           % (path, replaced, os.path.dirname(path)))
    if os.path.lexists(replaced):
        raise ReleaseError("%s already exists: move it away (it is not this rollback's), then resume." % replaced)
    result["changed"] = True
    if check_mode:
        return result
    try:
        exchanged = _exchange(path, release)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            # Said without trying a rename of the live checkout: one that succeeded would leave path missing.
            raise _exdev(path)
        raise ReleaseError("The switch of %s and %s failed, nothing was switched: %s" % (path, release, exc))
    if exchanged:
        _rename(release, replaced)
    else:
        _rename(path, replaced)
        _rename(release, path)
    sync_directory(os.path.dirname(path))
    record.update(switched_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), replaced=replaced,
                  exchanged=exchanged)
    write_journal(journal, record)
    return result


def drop(path, journal, check_mode=False):
    """Remove the release prepared ahead when it was not switched to (a rollback that failed before
    the switch); never the live release, never a reused one."""
    record = read_journal(journal)
    result = {"path": path, "changed": False, "removed": []}
    if not record:
        return result
    release = record.get("release")
    result["release"] = release
    live = os.path.realpath(path)
    if identity(path) == record.get("identity") or live == release:
        result["kept"] = "live"
        return result
    if record.get("layout") == "in_place" and not os.path.lexists(path):
        # A switch interrupted between its two renames: the prepared copy is to go to the path.
        raise ReleaseError("%s is missing (a switch was interrupted): nothing was removed. Resume the switch "
                           "(state=switched), or move %s back to %s." % (
                               path, in_place_names(path, record["rollback_id"])["replaced"], path))
    targets = []
    if record.get("created") and identity(release) == record.get("identity"):
        targets.append(release)
    if record.get("layout") == "in_place":
        partial = in_place_names(path, record["rollback_id"])["partial"]
        if os.path.lexists(partial):
            targets.append(partial)
    result["removed"] = targets
    result["changed"] = bool(targets)
    if check_mode:
        return result
    for target in targets:
        shutil.rmtree(target)
    os.unlink(journal)
    return result
