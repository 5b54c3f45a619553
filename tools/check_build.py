"""Build the collection tarball and check it ships no local state.

Fails when the tarball holds the virtualenv, the work directory (collections,
images' rootfs, caches), test output, bytecode or node_modules, or lacks the
collection's own metadata.  Prints the tarball's path and size.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("RB_WORK", ROOT / ".work")) / "dist"
FORBIDDEN = re.compile(r"(^|/)(\.venv|\.work|\.git|\.cache|\.ansible|\.pytest_cache|__pycache__|"
                       r"node_modules|tests/output)(/|$)|\.pyc$|\.tar(\.gz)?$")
REQUIRED = ("MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build",
                    "--force", "--output-path", str(OUT), str(ROOT)], check=True)
    tarballs = sorted(OUT.glob("runbooks-rollback-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not tarballs:
        sys.exit("ansible-galaxy collection build produced no tarball in %s" % OUT)
    with tarfile.open(tarballs[-1]) as tar:
        names = [m.name.lstrip("./") for m in tar.getmembers()]
    bad = sorted(n for n in names if FORBIDDEN.search(n))
    missing = [r for r in REQUIRED if r not in names]
    if bad or missing:
        print("tarball %s is not clean:" % tarballs[-1])
        for n in bad[:40]:
            print("  ships local state: " + n)
        for n in missing:
            print("  lacks: " + n)
        print("fix build_ignore in galaxy.yml")
        return 1
    size_kib = tarballs[-1].stat().st_size / 1024
    print("%s: %d files, %.1f KiB, no local state" % (tarballs[-1], len(names), size_kib))
    return 0


if __name__ == "__main__":
    sys.exit(main())
