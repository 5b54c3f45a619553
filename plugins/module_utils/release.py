# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release a rollback switches to, prepared next to the live one while the site serves.

Two layouts:

* ``in_place``: the live path is the checkout itself (``/srv/app`` with its ``.venv``). The
  release is a full copy next to it (``/srv/app.rollback-<id>``), rolled back and rebuilt there.
  A virtualenv holds its own path (script shebangs, ``activate``, ``pyvenv.cfg``, ``.pth`` files): the
  copy's are rewritten to the copy's path before it gets its name (so the build installs into the copy,
  never into the live checkout), and back to the live path before the switch (:func:`relocate`); the switch is then one
  atomic exchange of the two directories (``renameat2(RENAME_EXCHANGE)``), after which every path
  the programs use (``/srv/app/.venv/bin/gunicorn``) is the rolled-back release's.
* ``releases``: the live path is a symlink (``current``) to a directory of ``releases/`` (the
  Capistrano / ansistrano / Deployer layout). The release is a directory of its own there, reused
  when one holds the target commit, else copied from the live one and named as the team's releases
  are (:func:`release_name`), its virtualenv rewritten to its own path; the switch points the symlink
  at it with a rename over it (atomic). A release keeps its path: after the build, a release made
  here is checked to use no file of another release (:func:`foreign_references`), and its
  ``REVISION`` names its commit.

In both layouts the live release's virtualenv is fingerprinted (:func:`fingerprint`) when the release is
prepared and compared after the build: the build ahead must not have changed what the site serves.

The prepared release is recognised by its inode, recorded in a journal file: a resumed switch
knows whether the exchange already happened, and nothing ever deletes the live release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import calendar
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import time
import zlib

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import private_directory, sync_directory, write_atomic

LAYOUTS = ("auto", "in_place", "releases")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# Release names of Capistrano (%Y%m%d%H%M%S) and ansistrano (its default, with a Z), and Deployer's numbers.
TIMESTAMP_FORMATS = (("%Y%m%d%H%M%S", re.compile(r"^[0-9]{14}$")), ("%Y%m%d%H%M%SZ", re.compile(r"^[0-9]{14}Z$")))
# How many paths a refusal names.
SHOWN = 10


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


def journal_release(journal):
    """The release ``journal`` records, or None (no journal, none recorded, or not a journal)."""
    try:
        return (read_journal(journal) or {}).get("release")
    except ReleaseError:
        return None


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


def _result(record, **extra):
    """What prepare returns: the journal's record without the live release's fingerprint."""
    result = dict((key, value) for key, value in record.items() if key != "live_fingerprint")
    result.update(extra)
    return result


def prepare(run_command, path, rollback_id, journal, layout="auto", commit=None, check_mode=False, venv=".venv"):
    """Make (or find again) the release to switch to; record it in ``journal``, with a fingerprint
    of the live release that :func:`after_build` compares."""
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
    if record and record.get("identity") and identity(record["release"]) == record["identity"]:
        return _result(record, changed=False, live=live, reused_prepared=True)
    if record and record.get("identity") and record.get("partial") and not os.path.lexists(record["release"]) \
            and identity(record["partial"]) == record["identity"]:
        # Stopped after the copy was made and recorded, before it got its name: give it.
        if not check_mode:
            os.rename(record["partial"], record["release"])
            sync_directory(os.path.dirname(record["release"]))
        return _result(record, changed=True, live=live, reused_prepared=True)
    partial, reused, adopted, spellings = None, False, False, []
    if layout == "in_place":
        names = in_place_names(path, rollback_id)
        release, partial = names["release"], names["partial"]
        spellings = [path, live]
        # The copy is this rollback's own (by its name), also when an earlier run made it.
        adopted = os.path.isdir(release)
    else:
        releases_dir = os.path.dirname(live)
        wanted = resolve_commit(run_command, live, commit) if commit else None
        release = None
        if wanted:
            for name in sorted(os.listdir(releases_dir)):
                candidate = os.path.join(releases_dir, name)
                if candidate != live and not name.startswith(".") and os.path.isdir(candidate) \
                        and not os.path.islink(candidate) and git_head(run_command, candidate) == wanted:
                    release, reused = candidate, True
                    break
        if release is None:
            if not os.path.exists(os.path.join(live, ".git")):
                raise ReleaseError(
                    "No release of %s in %s, and the live release %s is not a git checkout to make one from: "
                    "deploy %s into %s with your deployment tool first, or roll back to a release that is "
                    "there (%s)." % (commit, releases_dir, live, commit, releases_dir,
                                     ", ".join(sorted(os.listdir(releases_dir)))))
            partial = os.path.join(releases_dir, ".rollback-%s.partial" % rollback_id)
            spellings = [live] + [os.path.join(d, os.path.basename(live)) for d in releases_dirs(path)]
            ours = "rollback-%s" % rollback_id
            # The name chosen by an earlier run (recorded before its copy) is kept; one of the team's
            # style that a release not ours (its inode was not recorded) took meanwhile is chosen again.
            name = None
            if record and record.get("created") and record.get("layout") == "releases" \
                    and os.path.dirname(record.get("release") or "") == releases_dir:
                name = os.path.basename(record["release"])
                if name != ours and os.path.lexists(record["release"]):
                    name = None
            release = os.path.join(releases_dir, name or release_name(releases_dir, rollback_id))
            # rollback-<id> is this rollback's own by its name, as the in_place copy is.
            adopted = os.path.basename(release) == ours and os.path.isdir(release)
    record = {"path": path, "layout": layout, "release": release, "partial": partial, "reused": reused,
              "created": not reused, "previous": live, "identity": identity(release) if reused or adopted else None,
              "rollback_id": rollback_id, "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    copied = not reused and not adopted
    if check_mode:
        return _result(record, changed=copied, live=live, reused_prepared=False)
    if adopted and os.path.isdir(os.path.join(release, venv)):
        _rewrite_venv(os.path.join(release, venv), spellings, release)
    # Before the copy: the build ahead must leave the live release's virtualenv as it is now (what a
    # pip or poetry run through a copied script's shebang would change). Only the virtualenv: a site
    # that writes into its own release (uploads, logs, a beat schedule) changes the rest as it serves.
    live_venv = os.path.join(live, venv)
    record["live_fingerprint"] = fingerprint(live_venv) if os.path.isdir(live_venv) else None
    record["live_fingerprinted"] = live_venv
    # The name is recorded before the copy: a run stopped during it reuses it, and drop finds it.
    write_journal(journal, record)
    if copied:
        _make_copy(run_command, live, spellings, partial, release, venv, journal, record)
    return _result(record, changed=copied, live=live, reused_prepared=False)


def _shown(paths):
    """The first paths of a refusal, and how many more there are."""
    paths = list(paths)
    text = ", ".join(paths[:SHOWN])
    if len(paths) > SHOWN:
        text += " (and %d more)" % (len(paths) - SHOWN)
    return text


def copy_tree(run_command, source, partial):
    """Copy ``source`` (owners, modes, links, times kept) to ``partial``; a leftover of an earlier run is replaced."""
    if os.path.lexists(partial):
        shutil.rmtree(partial)
    rc, _out, err = run_command(["cp", "-a", "--reflink=auto", source, partial])
    if rc != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ReleaseError("Copying %s to %s failed (nothing was changed; the copy was removed): %s"
                           % (source, partial, (err or "").strip()[-500:]))


def _make_copy(run_command, source, names, partial, final, venv, journal, record):
    """Copy ``source`` to ``partial``, point the copy's virtualenv at ``final`` instead of ``names`` (the
    spellings of ``source``), record the copy's inode in ``journal``, and only then give it its name:
    ``final`` exists only complete, and the journal knows it as this rollback's before it has it."""
    copy_tree(run_command, source, partial)
    venv_dir = os.path.join(partial, venv)
    # A release without the virtualenv is fine here: the backend's install may create it.
    if os.path.isdir(venv_dir):
        _rewrite_venv(venv_dir, names, final)
    record["identity"] = identity(partial)
    write_journal(journal, record)
    os.rename(partial, final)
    sync_directory(os.path.dirname(final))


def release_name(releases_dir, rollback_id, now=None):
    """The name of a release made for the rollback, as the team names its releases: the current UTC
    time when every release is named by one (Capistrano ``%Y%m%d%H%M%S``, ansistrano's default
    ``%Y%m%d%H%M%SZ``), later than all of them; the next number when all are numbers (Deployer);
    else ``rollback-<rollback_id>``. Hidden entries and releases of earlier rollbacks
    (``rollback-*``) do not count."""
    names = [name for name in os.listdir(releases_dir)
             if not name.startswith((".", "rollback-")) and os.path.isdir(os.path.join(releases_dir, name))
             and not os.path.islink(os.path.join(releases_dir, name))]
    if names:
        for fmt, pattern in TIMESTAMP_FORMATS:
            if not all(pattern.match(name) for name in names):
                continue
            try:
                latest = calendar.timegm(time.strptime(max(names)[:14], "%Y%m%d%H%M%S"))
            except ValueError:
                break  # 14 digits that are no date: not timestamps
            moment = max(int(time.time() if now is None else now), latest + 1)
            while os.path.lexists(os.path.join(releases_dir, time.strftime(fmt, time.gmtime(moment)))):
                moment += 1
            return time.strftime(fmt, time.gmtime(moment))
        if all(re.match(r"^[0-9]+$", name) for name in names):
            number = max(int(name) for name in names) + 1
            while os.path.lexists(os.path.join(releases_dir, str(number))):
                number += 1
            return str(number)
    return "rollback-%s" % rollback_id


def _walk(top, skip=()):
    """(relative name, lstat) of ``top`` (as ".") and of everything under it, bytes names; symlinks are
    not followed, directories named in ``skip`` are left out with what they hold."""
    top = os.fsencode(top)
    yield b".", os.lstat(top)
    pending = [b""]
    while pending:
        rel = pending.pop()
        try:
            entries = list(os.scandir(os.path.join(top, rel) if rel else top))
        except FileNotFoundError:
            continue  # removed while walked: what it held is missing from the walk
        for entry in entries:
            if entry.name in skip:
                continue
            name = os.path.join(rel, entry.name) if rel else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield name, st
            if stat.S_ISDIR(st.st_mode):
                pending.append(name)


def _listing(top):
    """Every entry of ``top`` and how it is: kind and mode, owner, and a file's size and mtime or a
    link's target. A directory's size and mtime are left out (its entries say what changed in it),
    and so is ``__pycache__`` (the serving interpreter writes there)."""
    found = {}
    for rel, st in _walk(top, skip=(b"__pycache__",)):
        fields = [b"%o" % st.st_mode, b"%d:%d" % (st.st_uid, st.st_gid)]
        if stat.S_ISREG(st.st_mode):
            fields += [b"%d" % st.st_size, b"%d" % st.st_mtime_ns]
        elif stat.S_ISLNK(st.st_mode):
            fields.append(os.readlink(os.path.join(os.fsencode(top), rel)))
        found[rel] = b" ".join(fields)
    return found


def _serialize(listing):
    return b"".join(rel + b"\0" + listing[rel] + b"\0" for rel in sorted(listing))


def fingerprint(top):
    """A record of how ``top`` is (every entry's lstat, no content read), small enough for the journal."""
    raw = _serialize(_listing(top))
    return {"entries": raw.count(b"\0") // 2, "sha256": hashlib.sha256(raw).hexdigest(),
            "listing": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")}


def fingerprint_changes(top, recorded):
    """The paths of ``top`` that are new, gone or changed since ``recorded`` (a :func:`fingerprint`)."""
    now = _listing(top)
    if hashlib.sha256(_serialize(now)).hexdigest() == recorded["sha256"]:
        return []
    fields = zlib.decompress(base64.b64decode(recorded["listing"])).split(b"\0")
    before = dict(zip(fields[0:-1:2], fields[1::2]))
    changes = []
    for rel in sorted(set(before) | set(now)):
        if before.get(rel) != now.get(rel):
            what = "new" if rel not in before else "gone" if rel not in now else "changed"
            changes.append("%s (%s)" % (os.path.normpath(os.path.join(top, os.fsdecode(rel))), what))
    return changes


def _path_pattern(paths):
    """Any of ``paths`` as a whole name: followed by "/" (its files), or by the end of the name (an
    editable install of the release itself: .pth, .egg-link, file:// in direct_url.json), but not
    <path>0 or <path>.partial."""
    alternatives = sorted(set(os.fsencode(p.rstrip("/")) for p in paths), key=len, reverse=True)
    return re.compile(b"(?:" + b"|".join(re.escape(p) for p in alternatives) + b")(?![^/\\s\"'\\x00:;,)\\]}])")


def _venv_files(venv):
    """The files of a virtualenv that hold its own path: pyvenv.cfg, scripts and activate files in
    bin/, the .pth and .egg-link files and direct_url.json of site-packages."""
    found = []
    cfg = os.path.join(venv, "pyvenv.cfg")
    if os.path.isfile(cfg) and not os.path.islink(cfg):
        found.append(cfg)
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


def _read(name):
    with open(name, "rb") as handle:
        return handle.read()


def _rewrite_venv(venv_dir, olds, new, check_mode=False):
    """Rewrite the paths ``olds`` to ``new`` in the files of the virtualenv ``venv_dir`` (owners and
    modes kept); returns the files rewritten. Refuses when any of them still names one afterwards."""
    old = _path_pattern(olds)
    new = os.fsencode(new.rstrip("/"))
    rewritten = []
    for name in _venv_files(venv_dir):
        content = _read(name)
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
        left = [name for name in _venv_files(venv_dir) if old.search(_read(name))]
        if left:
            raise ReleaseError("%s still names %s after the rewrite: %s"
                               % (venv_dir, " or ".join(sorted(set(olds))), _shown(left)))
    return rewritten


def relocate(release, path, venv=".venv", check_mode=False):
    """Rewrite ``release``'s own path to ``path`` in the files of its virtualenv; returns the files
    rewritten. Refuses when any of them still names ``release`` afterwards."""
    venv_dir = os.path.join(release, venv)
    if not os.path.isdir(venv_dir):
        raise ReleaseError("%s has no virtualenv %s: the backend was not installed into the release." % (release, venv))
    return _rewrite_venv(venv_dir, [release], path, check_mode)


def releases_dirs(path):
    """The directory of the releases, as the real path and as the ``current`` symlink spells it."""
    found = [os.path.dirname(os.path.realpath(path))]
    if os.path.islink(path):
        target = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
        if os.path.dirname(target) not in found:
            found.append(os.path.dirname(target))
    return found


def foreign_references(release, directories, venv=".venv"):
    """What in ``release`` uses another release of the releases directory (``directories``: its
    spellings): a virtualenv file naming another release's path, a symlink anywhere in the release
    whose target resolves into another release. Links into shared/ or out of releases/ are fine."""
    own = os.path.basename(release.rstrip("/"))
    found = []
    other = re.compile(b"(?:" + b"|".join(re.escape(os.fsencode(d.rstrip("/"))) for d in directories)
                       + b")/([^/\\s\"'\\x00:;,)\\]}]+)")
    venv_dir = os.path.join(release, venv)
    if os.path.isdir(venv_dir):
        for name in _venv_files(venv_dir):
            named = sorted(set(os.fsdecode(m) for m in other.findall(_read(name))) - {own})
            if named:
                found.append("%s (names %s)" % (name, ", ".join(named)))
    real = sorted(set(os.path.realpath(d) for d in directories))
    for rel, st in _walk(release):
        if not stat.S_ISLNK(st.st_mode):
            continue
        link = os.path.join(release, os.fsdecode(rel))
        target = os.path.realpath(link)
        for directory in real:
            if target.startswith(directory + "/"):
                into = target[len(directory) + 1:].split("/")[0]
                if into != own:
                    found.append("%s (a link to %s)" % (link, target))
                break
    return found


def write_revision(run_command, release, check_mode=False):
    """Make the release's REVISION file, when it has one (the deployment tool's record of the
    commit), name its ``git rev-parse HEAD``; owner, group and mode kept. Returns the commit when
    the file was (or would be) rewritten, else an empty string."""
    name = os.path.join(release, "REVISION")
    if os.path.islink(name) or not os.path.isfile(name):
        return ""
    rc, out, err = run_command(["git", "-c", "safe.directory=*", "-C", release, "rev-parse", "HEAD"])
    head = (out or "").strip()
    if rc != 0 or not SHA_RE.match(head):
        raise ReleaseError("%s: git rev-parse HEAD failed, so its REVISION file cannot be made to name its commit: %s"
                           % (release, (err or "").strip()))
    content = _read(name).decode("utf-8", "replace")
    if content.strip() == head:
        return ""
    if check_mode:
        return head
    st = os.lstat(name)
    tmp = name + ".rb-revision"
    with open(tmp, "w") as handle:
        handle.write(head + ("\n" if content.endswith("\n") else ""))
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    os.rename(tmp, name)
    return head


def after_build(run_command, path, journal, venv=".venv", check_mode=False):
    """``state=relocated``, once the release is built: refuses when the build changed the live
    release; then ``in_place`` rewrites the copy's virtualenv to ``path`` (:func:`relocate`), and
    ``releases`` checks that a release made for the rollback uses no file of another release
    (refused), and makes its ``REVISION`` name its commit; a reused release is only reported on."""
    record = read_journal(journal)
    if not record:
        raise ReleaseError("No release was prepared for this rollback (%s is missing)." % journal)
    release = record["release"]
    result = {"layout": record["layout"], "release": release, "rewritten": [], "revision": "", "foreign": [],
              "changed": False}
    if not record.get("identity"):
        if check_mode:
            return result  # prepare made nothing in check mode: nothing to say
        raise ReleaseError("The copy of the live release to %s was interrupted (journal %s): prepare it again."
                           % (release, journal))
    if identity(release) != record["identity"]:
        raise ReleaseError("The release prepared ahead, %s, is gone or was replaced (journal %s): prepare it again."
                           % (release, journal))
    live = record.get("previous")
    checked = record.get("live_fingerprinted") or live
    if record.get("live_fingerprint") and checked:
        changes = fingerprint_changes(checked, record["live_fingerprint"])
        if changes:
            raise ReleaseError(
                "The build ahead changed the live release's virtualenv %s while the site served (%d paths since "
                "the release was prepared at %s): %s. Nothing was switched and the release built ahead is not used. "
                "The site still runs from %s: check it (a package installed or removed) and redeploy it if it is "
                "broken."
                % (checked, len(changes), record.get("prepared_at"), _shown(changes), live))
    if record["layout"] == "in_place":
        result["rewritten"] = relocate(release, path, venv, check_mode)
    else:
        directories = releases_dirs(path)
        if os.path.dirname(release) not in directories:
            directories.append(os.path.dirname(release))
        result["foreign"] = foreign_references(release, directories, venv)
        if result["foreign"] and record.get("created"):
            raise ReleaseError(
                "%s, made for this rollback from the live release %s, still uses files of other releases (%d): %s. "
                "Once it is live, removing those releases (routine pruning) would break the site. Nothing was "
                "switched. Make the live release's virtualenv and links its own (a virtualenv built in the "
                "release, links relative or into shared/), or deploy the target with your deployment tool, "
                "then run again." % (release, live, len(result["foreign"]), _shown(result["foreign"])))
        if record.get("created"):
            result["revision"] = write_revision(run_command, release, check_mode)
    result["changed"] = bool(result["rewritten"] or result["revision"])
    return result


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
        owner = os.lstat(path)
        os.symlink(release, tmp)
        # The new link is the old one's owner's, as the deployment tool made it (not root's).
        os.lchown(tmp, owner.st_uid, owner.st_gid)
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
    if (record.get("identity") and identity(path) == record["identity"]) or live == release:
        result["kept"] = "live"
        return result
    if record.get("layout") == "in_place" and not os.path.lexists(path):
        # A switch interrupted between its two renames: the prepared copy is to go to the path.
        raise ReleaseError("%s is missing (a switch was interrupted): nothing was removed. Resume the switch "
                           "(state=switched), or move %s back to %s." % (
                               path, in_place_names(path, record["rollback_id"])["replaced"], path))
    targets = []
    if record.get("created") and record.get("identity") and identity(release) == record["identity"]:
        targets.append(release)
    # The copy under way (its name is this rollback's), left by a run stopped during it.
    partial = record.get("partial")
    if not partial and record.get("layout") == "in_place":
        partial = in_place_names(path, record["rollback_id"])["partial"]
    if partial and os.path.lexists(partial):
        targets.append(partial)
    result["removed"] = targets
    result["changed"] = bool(targets)
    if check_mode:
        return result
    for target in targets:
        shutil.rmtree(target)
    os.unlink(journal)
    return result
