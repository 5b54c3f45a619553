"""Scale: how the stop and start phases grow with the number of app hosts (forks).

Run: .venv/bin/python bench/scale.py [--hosts 1,5,20] [--forks 5,20]. Needs docker and the
production-host image (make images). Starts N containers of that image, each with a supervisor
program `web`; the first one is also the db host (the state file). Then runs
`playbooks/stop.yml` and `playbooks/start.yml` in one ansible-playbook command against them (no
maintenance page, no migrate: only the program handling and the phase bookkeeping every phase
has), once per forks setting, and prints the time per host count, and the ratio to one host.
Linear growth means the hosts are handled one after the other; flat means in parallel.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from end_to_end import ROOT, docker
from results import write_results

IMAGE = os.environ.get("RB_HOST_IMAGE", "local/runbooks-prod-host:bookworm")
WEB = "[program:web]\\ncommand=sleep infinity\\nstopsignal=KILL\\n"


def start_hosts(count: int) -> list[str]:
    names = ["rb-scale-%02d" % n for n in range(count)]
    for name in names:
        docker("rm", "-f", name, check=False)
        docker("run", "-d", "--name", name, IMAGE)
    for name in names:
        for _second in range(60):
            if docker("exec", name, "supervisorctl", "status", check=False).returncode in (0, 3):
                break
            time.sleep(1)
        docker("exec", name, "sh", "-c", "printf '%s' > /etc/supervisor/conf.d/web.conf && supervisorctl update"
               % WEB)
    return names


def inventory(path: str, names: list[str]) -> None:
    hosts = "".join("        %s:\n" % name for name in names)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("all:\n  vars:\n    ansible_connection: community.docker.docker\n"
                     "    ansible_python_interpreter: /usr/bin/python3\n    rollback_environment: bench\n"
                     "  children:\n    app:\n      hosts:\n" + hosts +
                     "    db:\n      hosts:\n        %s:\n" % names[0])


def run_phases(path: str, forks: int, rollback_id: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", "-i", path, "-f", str(forks), "playbooks/stop.yml",
                           "playbooks/start.yml", "-e", "rollback_id=" + rollback_id,
                           "-e", "rollback_maintenance_mode=none", "-e", "rollback_migrate=false",
                           "-e", "rollback_nginx_manager=supervisor"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError((proc.stdout + proc.stderr)[-3000:])
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="1,5,20")
    parser.add_argument("--forks", default="5,20")
    options = parser.parse_args()
    counts = [int(n) for n in options.hosts.split(",")]
    forks = [int(n) for n in options.forks.split(",")]
    times: dict[tuple[int, int], float] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for count in counts:
            names = start_hosts(count)
            try:
                path = os.path.join(workdir, "hosts%d.yml" % count)
                inventory(path, names)
                for fork in forks:
                    times[(count, fork)] = run_phases(path, fork, "scale%d_%d" % (count, fork))
            finally:
                for name in names:
                    docker("rm", "-f", name, check=False)
    print("stop.yml + start.yml over N app hosts (one docker host, 2 cores), seconds:\n")
    print("| app hosts | " + " | ".join("forks %d" % f for f in forks) + " | " +
          " | ".join("ratio to 1 host, forks %d" % f for f in forks) + " |")
    print("|---:|" + "---:|" * (2 * len(forks)))
    for count in counts:
        print("| %d | " % count + " | ".join("%.1f" % times[(count, f)] for f in forks) + " | " +
              " | ".join("%.2fx" % (times[(count, f)] / times[(counts[0], f)]) for f in forks) + " |")
    write_results("scale", {"repeat": 1, "runs": [
        {"app_hosts": count, "forks": fork, "seconds": times[(count, fork)],
         "ratio_to_first": times[(count, fork)] / times[(counts[0], fork)]} for count in counts for fork in forks]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
