"""Install the Ansible collections the project needs without Ansible Galaxy.

Galaxy is not reachable from the machines this project is built on, but PyPI
is: the community package ``ansible`` bundles every collection we use.  This
script downloads that one wheel (pip's cache makes later runs offline) and
extracts only the collections listed in ``collections.txt`` into
``<work>/collections/ansible_collections``.  It then links the checkout itself
as ``ansible_collections/runbooks/rollback`` so playbooks can use FQCNs.

Idempotent: a collection already extracted at the wanted version is kept.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_wanted(path: Path) -> tuple[str, list[str]]:
    """Return (ansible package pin, [namespace.name, ...]) from collections.txt."""
    package, names = "", []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("ansible=="):
            package = line
        else:
            names.append(line)
    if not package:
        sys.exit(f"{path}: no 'ansible==X.Y.Z' line naming the package to take collections from")
    return package, names


def installed_version(dest: Path, name: str) -> str | None:
    manifest = dest.joinpath(*name.split("."), "MANIFEST.json")
    try:
        return json.loads(manifest.read_text())["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def wheel_versions(wheel: zipfile.ZipFile, names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        member = "ansible_collections/%s/MANIFEST.json" % name.replace(".", "/")
        try:
            out[name] = json.loads(wheel.read(member))["collection_info"]["version"]
        except KeyError:
            sys.exit(f"collection {name} is not in the {wheel.filename} wheel; fix collections.txt")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--work", default=str(ROOT / ".work"), help="work directory (default .work)")
    parser.add_argument("--python", default=sys.executable, help="python whose pip downloads the wheel")
    args = parser.parse_args()

    work = Path(args.work)
    dest = work / "collections" / "ansible_collections"
    package, names = read_wanted(ROOT / "collections.txt")
    version = package.split("==", 1)[1]

    missing = [n for n in names if installed_version(dest, n) is None]
    if missing:
        dl = work / "dl"
        wheel_path = dl / f"ansible-{version}-py3-none-any.whl"
        if not wheel_path.exists():
            subprocess.run([args.python, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                            "--no-deps", "-d", str(dl), package], check=True)
        with zipfile.ZipFile(wheel_path) as wheel:
            wanted = wheel_versions(wheel, missing)
            prefixes = tuple("ansible_collections/%s/" % n.replace(".", "/") for n in missing)
            for name in missing:
                shutil.rmtree(dest.joinpath(*name.split(".")), ignore_errors=True)
            wheel.extractall(work / "collections",
                             [m for m in wheel.namelist() if m.startswith(prefixes)])
        for name, ver in sorted(wanted.items()):
            print(f"installed {name} {ver}")

    # The checkout is the collection runbooks.rollback: link it in, relative, so the
    # tree can move.  A stale link (checkout moved) is replaced.
    link = dest / "runbooks" / "rollback"
    link.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.relpath(ROOT, link.parent)
    if link.is_symlink() and os.readlink(link) != target:
        link.unlink()
    if not link.exists() and not link.is_symlink():
        link.symlink_to(target, target_is_directory=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
