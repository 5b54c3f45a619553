# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare a backup's ``django_migrations`` rows with the migration files of a commit.

The files are read from git objects (``git ls-tree`` and one ``git cat-file --batch``),
never from a checkout, so the commit the rollback goes back to is checked before
anything is stopped.  Each migration file is parsed with ``ast`` (never imported): its
``Migration`` class's ``replaces`` (squashed migrations) and the names of its
``operations``.

Two findings make a backup and a commit disagree:

- ``unknown_to_target``: rows of the backup that no migration file of the target has (by
  name or through a squashed migration's ``replaces``): the target code would run on a
  schema it does not know - the backup was taken after the deployment, or the commit is
  older than the backup;
- ``not_additive``: migrations of the target missing from the backup that do more than
  add (anything but CreateModel, AddField, AddIndex, AlterModelOptions,
  AlterModelManagers): the restored schema is not the one the target code expects.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import ast
import os
import pwd
import re
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

MIGRATION_FILE = re.compile(r"(^|/)migrations/[^/]+\.py$")
ADDITIVE_OPERATIONS = frozenset(["CreateModel", "AddField", "AddIndex", "AlterModelOptions",
                                 "AlterModelManagers"])
LIST_LIMIT = 10
ADVICE = ("Pick the pre-deployment backup (rollback_backup_file) or the right commit (rollback_code_target), "
          "or set rollback_migration_policy=report to go on anyway.")

Key = Tuple[str, str]
Runner = Callable[..., Tuple[int, bytes, bytes]]


class MigrationCheckError(Exception):
    """The check cannot be made, or (policy=refuse) the backup and the code disagree.

    ``details`` holds result fields to return with the failure.
    """

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        super(MigrationCheckError, self).__init__(message)
        self.details = details or {}


# --- migration files -----------------------------------------------------------------------

def is_migration_path(path: str) -> bool:
    """``<app>/migrations/<name>.py``, not ``__init__.py`` (nor another ``_``/``~`` file Django skips)."""
    if not MIGRATION_FILE.search(path):
        return False
    return not os.path.basename(path).startswith(("_", "~"))


def app_dir_of(path: str) -> str:
    """The directory holding ``migrations/``: ``src/channels/migrations/0001_x.py`` -> ``src/channels``."""
    return "/".join(path.split("/")[:-2])


def _operation_name(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            return func.attr
        if isinstance(func, ast.Name):
            return func.id
    return None


def parse_migration(source: bytes) -> Dict[str, Any]:
    """What a migration file does, read with ``ast`` (the file is not run).

    Returns {replaces: [(app, name)], operations: [names], additive: bool, problem: str or None}.
    ``additive`` is true only for a literal list of the operations of ADDITIVE_OPERATIONS (an
    empty literal list too: a no-op migration); ``problem`` says why a file could not be read
    as one (then it is not additive).
    """
    result: Dict[str, Any] = {"replaces": [], "operations": [], "additive": False, "problem": None}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        result["problem"] = "cannot be parsed: %s" % exc
        return result
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Migration"]
    if not classes:
        result["problem"] = "has no Migration class"
        return result
    assigned: Dict[str, List[ast.AST]] = {}
    for statement in classes[-1].body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(statement.value)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            if statement.value is not None:
                assigned.setdefault(statement.target.id, []).append(statement.value)
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            assigned.setdefault(statement.target.id, []).append(statement)
    for value in assigned.get("replaces", [])[-1:]:
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            literal = None
        if isinstance(literal, (list, tuple)):
            result["replaces"] = [(str(item[0]), str(item[1])) for item in literal
                                  if isinstance(item, (list, tuple)) and len(item) == 2]
    values = assigned.get("operations", [])
    if not values:
        result["problem"] = "has no operations list in its Migration class"
        return result
    value = values[-1]
    if len(values) > 1 or not isinstance(value, (ast.List, ast.Tuple)):
        result["problem"] = "builds its operations at run time (not a literal list)"
        return result
    mutated = any(isinstance(node, ast.Attribute) and node.attr == "operations"
                  and isinstance(node.value, ast.Name) and node.value.id == "Migration"
                  for node in ast.walk(tree))
    names = [_operation_name(element) or "<expression>" for element in value.elts]
    result["operations"] = names
    if mutated:
        result["problem"] = "changes Migration.operations outside the class"
        return result
    result["additive"] = all(name in ADDITIVE_OPERATIONS for name in names)
    return result


# --- git -----------------------------------------------------------------------------------

def module_runner(module: Any, git_bin: str) -> Runner:
    """A runner of git for ``Git`` through ``module.run_command`` (bytes out).

    run_command writes all of stdin before it reads stdout: a ``cat-file --batch`` asked for
    thousands of objects would fill both pipes and hang. The standard input is therefore
    written by a thread while run_command reads the output.
    """
    def run(args: List[str], data: Optional[bytes] = None) -> Tuple[int, bytes, bytes]:
        writers: List[threading.Thread] = []

        def start_writer(proc: Any) -> None:
            if data:
                proc.stdin = _BackgroundStdin(proc.stdin, writers)

        rc, out, err = module.run_command([git_bin] + list(args), data=data, binary_data=True, encoding=None,
                                          environ_update={"LC_ALL": "C"}, expand_user_and_vars=False,
                                          before_communicate_callback=start_writer)
        for writer in writers:
            writer.join()
        return rc, out, err
    return run


class _BackgroundStdin(object):
    """Stands for a process's stdin: write() hands the data to a thread, which closes the pipe."""

    def __init__(self, pipe: Any, writers: List[threading.Thread]) -> None:
        self._pipe = pipe
        self._writers = writers

    def write(self, data: bytes) -> int:
        def feed() -> None:
            try:
                self._pipe.write(data)
            except (BrokenPipeError, OSError):
                pass  # git stopped reading (it failed): its exit code and stderr say why
            finally:
                try:
                    self._pipe.close()
                except (BrokenPipeError, OSError):
                    pass
        writer = threading.Thread(target=feed, name="git-stdin")
        writer.daemon = True
        writer.start()
        self._writers.append(writer)
        return len(data)

    def close(self) -> None:
        """The writer thread closes the pipe when it has written everything."""


def _owner_of(path: str) -> str:
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return "its owner"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def _current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "uid %d" % os.geteuid()


class Git(object):
    """git -C repo_dir ..., raising MigrationCheckError with what to do."""

    def __init__(self, run: Runner, repo_dir: str) -> None:
        self._run = run
        self.repo_dir = repo_dir

    def run(self, args: List[str], data: Optional[bytes] = None, check: bool = True) -> Tuple[int, bytes, bytes]:
        rc, out, err = self._run(["-C", self.repo_dir] + list(args), data)
        if rc != 0 and check:
            raise MigrationCheckError(self.explain("git %s" % " ".join(args[:2]), rc, err))
        return rc, out, err

    def explain(self, what: str, rc: int, err: bytes) -> str:
        text = (err or b"").decode("utf-8", "replace").strip()
        if "dubious ownership" in text:
            owner = _owner_of(self.repo_dir)
            return ("git refuses to read the repository %s: it belongs to %s and the module runs as %s "
                    "(git: detected dubious ownership). Run the task as the checkout's owner (become_user: %s); "
                    "this module does not change safe.directory" % (self.repo_dir, owner, _current_user(), owner))
        return "%s failed in %s (exit %d): %s" % (what, self.repo_dir, rc, text or "no message")

    def check_repository(self) -> None:
        if not os.path.isdir(self.repo_dir):
            raise MigrationCheckError("repo_dir %s does not exist or is not a directory: give the application's git "
                                      "checkout (or a bare clone of it)" % self.repo_dir)
        rc, _out, err = self.run(["rev-parse", "--git-dir"], check=False)
        if rc != 0:
            message = self.explain("git rev-parse", rc, err)
            if "dubious ownership" not in message:
                message = ("repo_dir %s is not a git repository (%s): give the application's git checkout (the "
                           "directory holding .git) or a bare clone of it"
                           % (self.repo_dir, (err or b"").decode("utf-8", "replace").strip()))
            raise MigrationCheckError(message)

    def commit(self, option: str, value: str) -> str:
        """The full sha of the commit ``value`` names (a tag is peeled)."""
        value = (value or "").strip()
        if not value or value.startswith("-"):
            raise MigrationCheckError("%s=%r is not a commit-ish: give a tag, branch or commit id" % (option, value))
        rc, out, _err = self.run(["rev-parse", "--verify", "--quiet", value + "^{commit}"], check=False)
        sha = out.decode("ascii", "replace").strip()
        if rc != 0 or not sha:
            raise MigrationCheckError(
                "%s=%s is not a commit of the repository %s: check the name with `git -C %s log --oneline "
                "--decorate --all` (or `git -C %s tag`), or fetch it first (`git -C %s fetch --tags origin`)"
                % (option, value, self.repo_dir, self.repo_dir, self.repo_dir, self.repo_dir))
        return sha

    def parents(self, sha: str) -> List[str]:
        _rc, out, _err = self.run(["rev-list", "--parents", "-n", "1", sha])
        return out.decode("ascii", "replace").split()[1:]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        rc, _out, err = self.run(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
        if rc not in (0, 1):
            raise MigrationCheckError(self.explain("git merge-base", rc, err))
        return rc == 0

    def migration_files(self, sha: str) -> Dict[str, str]:
        """{path: blob id} of the migration files at a commit (``ls-tree -r``, paths NUL-separated)."""
        _rc, out, _err = self.run(["ls-tree", "-r", "-z", "--full-tree", sha])
        files = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _tab, raw_path = record.partition(b"\t")
            fields = meta.split(b" ")
            if len(fields) != 3 or fields[1] != b"blob" or fields[0] not in (b"100644", b"100755"):
                continue  # submodules, symbolic links
            path = raw_path.decode("utf-8", "surrogateescape")
            if is_migration_path(path):
                files[path] = fields[2].decode("ascii")
        return files

    def blobs(self, ids: Iterable[str]) -> Dict[str, bytes]:
        """The contents of blobs, read by one ``git cat-file --batch``."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        _rc, out, _err = self.run(["cat-file", "--batch"], data=("\n".join(wanted) + "\n").encode("ascii"))
        contents: Dict[str, bytes] = {}
        position = 0
        while position < len(out):
            end = out.index(b"\n", position)
            header = out[position:end].split(b" ")
            if len(header) != 3:
                raise MigrationCheckError("git cat-file --batch in %s: object %s is missing"
                                          % (self.repo_dir, header[0].decode("ascii", "replace")))
            size = int(header[2])
            contents[header[0].decode("ascii")] = out[end + 1:end + 1 + size]
            position = end + 1 + size + 1
        missing = [blob for blob in wanted if blob not in contents]
        if missing:
            raise MigrationCheckError("git cat-file --batch in %s did not return %s" % (self.repo_dir, missing[0]))
        return contents


# --- the comparison ------------------------------------------------------------------------

def parse_applied(applied: Optional[List[Any]]) -> List[Key]:
    """The rows as (app, name): dicts {app, name}, strings ``app.name`` (split at the first dot) or pairs."""
    rows: List[Key] = []
    for index, item in enumerate(applied or []):
        app = name = None
        if isinstance(item, dict):
            app, name = item.get("app"), item.get("name")
        elif isinstance(item, str):
            app, dot, name = item.partition(".")
            if not dot:
                name = None
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            app, name = item
        if not isinstance(app, str) or not isinstance(name, str) or not app.strip() or not name.strip():
            raise MigrationCheckError(
                "applied[%d] is %r: each row must be a dict {app, name} (as pg_backup_info returns them in "
                "migrations with read_migrations=true) or a string app.name" % (index, item))
        rows.append((app.strip(), name.strip()))
    return rows


def _labels(app_labels: Dict[str, str]) -> Dict[str, str]:
    labels = {}
    for directory, label in (app_labels or {}).items():
        key = str(directory).strip().strip("/")
        while key.startswith("./"):
            key = key[2:]
        if not isinstance(label, str) or not label.strip() or "." in label:
            raise MigrationCheckError("app_labels[%r] is %r: give the Django app label (AppConfig.label, no dots)"
                                      % (directory, label))
        labels[key] = label.strip()
    return labels


def _migrations(files: Dict[str, str], labels: Dict[str, str]) -> Dict[Key, Dict[str, Any]]:
    """{(app, name): {path, blob}} of migration files; the first path wins for a duplicate."""
    found: Dict[Key, Dict[str, Any]] = {}
    for path in sorted(files):
        directory = app_dir_of(path)
        if not directory:
            continue  # migrations/ at the top of the repository: no app directory to name it
        app = labels.get(directory) or directory.rsplit("/", 1)[-1]
        name = os.path.basename(path)[:-3]
        found.setdefault((app, name), {"path": path, "blob": files[path]})
    return found


def _listed(names: List[str]) -> str:
    shown = ", ".join(names[:LIST_LIMIT])
    if len(names) > LIST_LIMIT:
        shown += " and %d more" % (len(names) - LIST_LIMIT)
    return shown


def _revert_files(git: Git, merge: str, deployed: str) -> Tuple[Dict[str, str], str, Dict[str, str]]:
    """(files, first parent, deployed's files): the migration files once ``merge`` is reverted on ``deployed``.

    The merge's changes relative to its first parent are undone: the files it added are
    deleted, those it deleted come back, those it changed get their content back.
    """
    parents = git.parents(merge)
    if len(parents) < 2:
        raise MigrationCheckError(
            "merge_commit %s is not a merge commit (it has %d parent%s): with method=revert give the merge of the bad "
            "deployment (`git -C %s log --merges --oneline -5`), or use method=reset with target"
            % (merge[:12], len(parents), "" if len(parents) == 1 else "s", git.repo_dir))
    first_parent = parents[0]
    if not git.is_ancestor(merge, deployed):
        raise MigrationCheckError(
            "merge_commit %s is not in the history of the deployed commit %s: reverting it would not undo the "
            "deployment; check merge_commit and deployed (`git -C %s log --merges --oneline --decorate -5`)"
            % (merge[:12], deployed[:12], git.repo_dir))
    merged = git.migration_files(merge)
    before = git.migration_files(first_parent)
    at_deployed = git.migration_files(deployed)
    files = dict(at_deployed)
    for path in merged:
        if path not in before:
            files.pop(path, None)  # added by the merge: the revert deletes it
    for path, blob in before.items():
        if path not in merged:
            files[path] = blob  # deleted by the merge: the revert brings it back
        elif merged[path] != blob and path in files:
            files[path] = blob  # changed by the merge: the revert restores it
    return files, first_parent, at_deployed


def compare(rows: List[Key], target: Dict[Key, Dict[str, Any]], checked: Set[str]) -> Dict[str, Any]:
    """unknown_to_target, to_apply, not_additive, unchecked_apps of rows against the target's migrations.

    ``target`` entries carry ``info`` (parse_migration's result).
    """
    applied = set(rows)
    known = set(target)
    replaced_by: Dict[Key, List[Key]] = {}
    for key, migration in target.items():
        for replaced in migration["info"]["replaces"]:
            known.add(replaced)
            replaced_by.setdefault(replaced, []).append(key)
    unchecked: Dict[str, int] = {}
    for app, _name in sorted(applied):
        if app not in checked:
            unchecked[app] = unchecked.get(app, 0) + 1
    unknown = sorted("%s.%s" % key for key in applied if key[0] in checked and key not in known)

    # A squashed migration counts as applied when it or all it replaces are; when none of them
    # are, Django runs it instead of them; when some are, Django runs what is left of them.
    squash_state = {}
    for key, migration in target.items():
        replaces = migration["info"]["replaces"]
        if replaces:
            done = [replaced in applied for replaced in replaces]
            squash_state[key] = ("applied" if key in applied or all(done)
                                 else "unapplied" if not any(done) else "partial")
    to_apply = []
    for key in sorted(target):
        migration = target[key]
        if key in applied:
            continue
        if key in squash_state:
            state = squash_state[key]
            if state == "applied":
                continue
            if state == "partial" and all(replaced in applied or replaced in target
                                          for replaced in migration["info"]["replaces"]):
                continue  # the replaced migrations left are files of the target: they are listed
        elif any(squash_state.get(squash) in ("applied", "unapplied") for squash in replaced_by.get(key, [])):
            continue
        info = migration["info"]
        to_apply.append({"migration": "%s.%s" % key, "path": migration["path"], "additive": info["additive"],
                         "operations": list(info["operations"]), "problem": info["problem"]})
    return {"unknown_to_target": unknown, "to_apply": to_apply, "unchecked_apps": unchecked,
            "not_additive": [entry["migration"] for entry in to_apply if not entry["additive"]]}


def _findings(result: Dict[str, Any], backup: str, target: str) -> List[str]:
    """One sentence per disagreement between the backup and the target."""
    findings = []
    if not result["applied_count"]:
        findings.append(
            "%s has no django_migrations rows (no django_migrations table in the backup, or an empty one): it is not "
            "a backup of this application's database, or not a complete one; the code at %s cannot be checked "
            "against it." % (backup, target))
    unknown = result["unknown_to_target"]
    if unknown:
        findings.append(
            "%s has %d migration%s that the code at %s does not know: %s. The target code would run on a schema it "
            "does not know: the backup was probably taken after the deployment, or the target commit is older than "
            "the backup." % (backup, len(unknown), "" if len(unknown) == 1 else "s", target, _listed(unknown)))
    not_additive = [entry for entry in result["to_apply"] if not entry["additive"]]
    if not_additive:
        names = ["%s (%s)" % (entry["migration"], ", ".join(entry["operations"]) or entry["problem"] or "no operations")
                 for entry in not_additive]
        findings.append(
            "the code at %s has %d migration%s that %s lacks and that %s not additive (changing, dropping or "
            "running code, or unreadable): %s. The restored schema is not the one the target code expects: the "
            "backup is older than the target commit, or the commit is not the one the backup was taken with."
            % (target, len(names), "" if len(names) == 1 else "s", backup, "is" if len(names) == 1 else "are",
               _listed(names)))
    return findings


def check(params: Dict[str, Any], run: Runner) -> Tuple[Dict[str, Any], List[str]]:
    """Compare; return (result, warnings) or raise MigrationCheckError (with policy=refuse, on disagreement)."""
    git = Git(run, params["repo_dir"])
    labels = _labels(params.get("app_labels") or {})
    rows = parse_applied(params.get("applied"))
    warnings = []
    method = params.get("method") or "reset"
    git.check_repository()
    deployed = git.commit("deployed", params.get("deployed") or "HEAD")
    merge = None
    if method == "revert":
        if params.get("target"):
            warnings.append("target=%s is not used with method=revert (the target is deployed with merge_commit "
                            "reverted)" % params["target"])
        merge = git.commit("merge_commit", params["merge_commit"])
        target_files, target_sha, deployed_files = _revert_files(git, merge, deployed)
        target_name = "%s (%s) with the merge %s (%s) reverted" % (
            params.get("deployed") or "HEAD", deployed[:7], params["merge_commit"], merge[:7])
    else:
        if params.get("merge_commit"):
            warnings.append("merge_commit=%s is not used with method=reset (the target is target=%s)"
                            % (params["merge_commit"], params["target"]))
        target_sha = git.commit("target", params["target"])
        target_files = git.migration_files(target_sha)
        deployed_files = target_files if deployed == target_sha else git.migration_files(deployed)
        target_name = "%s (%s)" % (params["target"], target_sha[:7])
    target = _migrations(target_files, labels)
    deployed_migrations = _migrations(deployed_files, labels)
    directories = set(app_dir_of(path) for path in list(target_files) + list(deployed_files))
    for directory in sorted(set(labels) - directories):
        warnings.append("app_labels names %s, which has no migrations/ directory at the target nor at the deployed "
                        "commit: check the path (relative to the top of the repository)" % directory)
    contents = git.blobs(migration["blob"] for migration in target.values())
    parsed: Dict[str, Dict[str, Any]] = {}
    for migration in target.values():
        blob = migration["blob"]
        if blob not in parsed:
            parsed[blob] = parse_migration(contents[blob])
        migration["info"] = parsed[blob]
    checked = set(app for app, _name in target) | set(app for app, _name in deployed_migrations)
    result: Dict[str, Any] = {
        "target_commit": target_sha, "deployed_commit": deployed, "merge_commit": merge,
        "checked_apps": sorted(checked), "applied_count": len(set(rows)), "target_migrations_count": len(target),
    }
    result.update(compare(rows, target, checked))
    backup = "the backup %s" % params["backup_label"] if params.get("backup_label") else "the backup"
    findings = _findings(result, backup, target_name)
    result["ok"] = not findings
    if findings:
        if (params.get("policy") or "refuse") == "refuse":
            raise MigrationCheckError("The backup does not match the code the rollback goes back to (nothing was "
                                      "stopped). %s %s" % (" ".join(_sentence(f) for f in findings), ADVICE), result)
        for finding in findings:
            warnings.append("%s Going on: rollback_migration_policy=report." % _sentence(finding))
    return result, warnings


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
