"""Docker host harness: engine, base image and production-host image, all local.

Subcommands (each idempotent):
  engine   install docker.io when dockerd is absent, start dockerd in the background
           when the socket does not answer, wait until it does.
  base     make sure RB_BASE_IMAGE exists: a ``local/...`` name is built from scratch
           with debootstrap + ``docker import`` (no registry needed); any other name
           (e.g. ``debian:bookworm`` on a machine with Docker Hub) is pulled.
  host     build RB_HOST_IMAGE (images/prod-host) from RB_BASE_IMAGE; docker's layer
           cache makes a rebuild with unchanged inputs take a second.
  systemd-host
           build RB_SYSTEMD_IMAGE (images/systemd-host: systemd as PID 1, the programs
           as systemd units) from RB_BASE_IMAGE, cached the same way.
  all      engine, base, host, systemd-host.

Options come from the environment so make, CI and molecule agree:
  RB_BASE_IMAGE  default local/debian:bookworm
  RB_HOST_IMAGE  default local/runbooks-prod-host:bookworm
  RB_SYSTEMD_IMAGE default local/runbooks-systemd-host:bookworm
  RB_DEBIAN_MIRROR default: the first Debian archive this machine's apt sources name (deb822
                 /etc/apt/sources.list.d/*.sources, else one-line sources.list files), so
                 debootstrap uses the mirror apt already reaches
  RB_CA_BUNDLE   CA bundle pip trusts while building the host image (poetry from PyPI),
                 default /etc/ssl/certs/ca-certificates.crt; absent: none
  DOCKER         docker client, default /usr/bin/docker (Debian's, matching dockerd)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("RB_WORK", ROOT / ".work"))
BASE_IMAGE = os.environ.get("RB_BASE_IMAGE", "local/debian:bookworm")
HOST_IMAGE = os.environ.get("RB_HOST_IMAGE", "local/runbooks-prod-host:bookworm")
SYSTEMD_IMAGE = os.environ.get("RB_SYSTEMD_IMAGE", "local/runbooks-systemd-host:bookworm")
APT_SOURCES = Path("/etc/apt")


def apt_mirror(apt_dir: Path = APT_SOURCES) -> str | None:
    """The first URI of a Debian archive (not its security archive) in the machine's apt sources:
    deb822 ``*.sources`` files first, then one-line ``sources.list`` entries; None when none."""
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        try:
            text = path.read_text()
        except OSError:
            continue
        for stanza in text.split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if line.strip().startswith("#") or ":" not in line:
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"])[0].lower() != "no":
                suites = fields.get("suites", [])
                for uri in fields.get("uris", []):
                    if not any(suite.endswith("-security") for suite in suites):
                        return uri.rstrip("/")
    lists = [apt_dir / "sources.list"] + sorted((apt_dir / "sources.list.d").glob("*.list"))
    for path in lists:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            # deb [options] URI suite components...
            words = [word for word in words if not (word.startswith("[") or word.endswith("]"))]
            if len(words) >= 3 and words[0] == "deb" and not words[2].endswith("-security"):
                return words[1].rstrip("/")
    return None


MIRROR = os.environ.get("RB_DEBIAN_MIRROR") or apt_mirror()
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
CA_BUNDLE = os.environ.get("RB_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")


def say(msg: str) -> None:
    print("[dockerhost] " + msg, flush=True)


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    check = kw.pop("check", True)
    return subprocess.run(list(cmd), check=check, **kw)


def quiet_ok(*cmd: str) -> bool:
    return subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 0


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        sys.exit("need root to apt-get install %s (or install them yourself)" % " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say("apt-get install " + " ".join(packages))
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=env,
        stdout=subprocess.DEVNULL)


def engine() -> None:
    if not (os.path.exists(DOCKER) and shutil.which("dockerd")):
        apt_install("docker.io")
    if quiet_ok(DOCKER, "info"):
        say("docker engine answers")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    log = open(WORK / "dockerd.log", "ab")  # pylint: disable=consider-using-with
    say("starting dockerd (log: %s)" % (WORK / "dockerd.log"))
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                     start_new_session=True)
    for _attempt in range(60):
        if quiet_ok(DOCKER, "info"):
            say("docker engine answers")
            return
        time.sleep(1)
    sys.exit("dockerd did not answer within 60 s; see %s" % (WORK / "dockerd.log"))


def image_exists(name: str) -> bool:
    return quiet_ok(DOCKER, "image", "inspect", name)


def base() -> None:
    if image_exists(BASE_IMAGE):
        say("base image %s present (cached)" % BASE_IMAGE)
        return
    if not BASE_IMAGE.startswith("local/"):
        say("pulling %s" % BASE_IMAGE)
        run(DOCKER, "pull", BASE_IMAGE)
        return
    if not shutil.which("debootstrap"):
        apt_install("debootstrap")
    if not MIRROR:
        sys.exit("No Debian archive in this machine's apt sources (%s) to debootstrap from: set "
                 "RB_DEBIAN_MIRROR to one (e.g. your Debian mirror's URL)." % (APT_SOURCES / "sources.list.d"))
    rootfs = tempfile.mkdtemp(prefix="rb-rootfs-", dir=WORK if WORK.exists() else None)
    try:
        say("debootstrap bookworm into %s (about a minute)" % rootfs)
        with open(WORK / "debootstrap.log", "wb") as log:
            run("debootstrap", "--variant=minbase",
                "--include=python3,python3-apt,sudo,ca-certificates",
                "bookworm", rootfs, MIRROR, stdout=log, stderr=subprocess.STDOUT)
        say("docker import -> %s" % BASE_IMAGE)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)  # pylint: disable=consider-using-with
        run(DOCKER, "import", "-", BASE_IMAGE, stdin=tar.stdout, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            sys.exit("tar of the debootstrap rootfs failed")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def build(folder: str, image: str) -> None:
    """docker build images/<folder> as ``image`` from RB_BASE_IMAGE."""
    say("building %s from %s" % (image, BASE_IMAGE))
    with tempfile.TemporaryDirectory(prefix="rb-host-build-") as context:
        shutil.copytree(ROOT / "images" / folder, context, dirs_exist_ok=True)
        bundle = Path(CA_BUNDLE)
        # pip inside the build trusts the same CA as pip in the containers (empty: none).
        if bundle.is_file():
            shutil.copyfile(bundle, Path(context) / "host-ca.crt")
        else:
            (Path(context) / "host-ca.crt").write_bytes(b"")
        run(DOCKER, "build", "-q", "--build-arg", "BASE_IMAGE=" + BASE_IMAGE,
            "-t", image, context, stdout=subprocess.DEVNULL)
    say("image %s ready" % image)


def host() -> None:
    build("prod-host", HOST_IMAGE)


def systemd_host() -> None:
    build("systemd-host", SYSTEMD_IMAGE)


def main(argv: list[str]) -> int:
    steps = {"engine": [engine], "base": [base], "host": [host], "systemd-host": [systemd_host],
             "all": [engine, base, host, systemd_host]}
    if len(argv) != 1 or argv[0] not in steps:
        print(__doc__)
        return 2
    for step in steps[argv[0]]:
        step()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
