"""What one task that reaches the host costs, part by part (what dominates the playbook's overhead).

Run: .venv/bin/python bench/task_cost.py [--tasks 20] [--repeat 7]. Needs docker and the host
image (make images). Starts one container of the production-host image and measures, medians:
- `docker exec HOST true`: the connection alone;
- `docker exec HOST python3 -c pass`: plus a Python start on the host;
- the AnsiballZ payload of `ansible.builtin.ping` run on the host (kept with
  ANSIBLE_KEEP_REMOTE_FILES): Python, the module runtime imported from the payload's zip - which
  Python compiles from source at every run, as it writes no bytecode for a zip - and the module;
- the same imports from the payload unpacked, with the bytecode cached: what a task's module start
  would cost if its imports were not compiled again each time;
- a task that reaches the host (`ping`, --tasks of them in one play, per task, as Ansible runs
  them with pipelining), and a task the controller answers alone (`debug`), per task.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from end_to_end import DOCKER, ROOT, docker
from results import write_results

IMAGE = os.environ.get("RB_HOST_IMAGE", "local/runbooks-prod-host:bookworm")
HOST = "rb-bench-taskcost"


def timed(argv: list[str], repeat: int, **kwargs) -> float:
    """Median wall time of ``argv`` over ``repeat`` runs (after one unmeasured run)."""
    subprocess.run(argv, check=True, capture_output=True, **kwargs)
    times = []
    for _run in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, **kwargs)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def on_host(repeat: int, script: str) -> float:
    """Median seconds ``script`` takes inside the container, timed there (no docker exec in it)."""
    out = docker("exec", HOST, "sh", "-c",
                 'for i in $(seq %d); do s=$(date +%%s%%N); %s >/dev/null 2>&1; e=$(date +%%s%%N); '
                 'echo $((e - s)); done' % (repeat + 1, script)).stdout
    return statistics.median(int(ns) / 1e9 for ns in out.split()[1:])


def play(workdir: str, tasks: int, module: str) -> float:
    """Seconds of one ansible-playbook run with ``tasks`` tasks of ``module`` (0: the play alone)."""
    path = os.path.join(workdir, "play-%s-%d.yml" % (module, tasks))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("- hosts: all\n  gather_facts: false\n  tasks:\n")
        for number in range(tasks):
            handle.write("    - name: task %d\n      %s: {}\n" % (number, module))
    started = time.perf_counter()
    subprocess.run(["ansible-playbook", "-i", os.path.join(workdir, "inventory.ini"), path],
                   cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    docker("rm", "-f", HOST, check=False)
    docker("run", "-d", "--name", HOST, "--entrypoint", "sleep", IMAGE, "infinity")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            with open(os.path.join(workdir, "inventory.ini"), "w", encoding="utf-8") as handle:
                handle.write("%s ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n"
                             % HOST)
            rows = [("`docker exec` of `true`", timed([DOCKER, "exec", HOST, "true"], options.repeat)),
                    ("`docker exec` of `python3 -c pass`",
                     timed([DOCKER, "exec", HOST, "python3", "-c", "pass"], options.repeat))]
            # One run that leaves its payload on the host (no pipelining: the payload is a file there).
            env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_PIPELINING="0")
            subprocess.run(["ansible", "-i", os.path.join(workdir, "inventory.ini"), HOST, "-m", "ansible.builtin.ping"],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            payload = docker("exec", HOST, "sh", "-c", "ls -1d /root/.ansible/tmp/*/AnsiballZ_ping.py").stdout.split()[0]
            unpacked = os.path.dirname(payload) + "/debug_dir"
            docker("exec", HOST, "sh", "-c", "cd %s && python3 %s explode" % (os.path.dirname(payload), payload))
            rows.append(("on the host: the `ping` payload (Python, module runtime compiled from the zip, module)",
                         on_host(options.repeat, "python3 " + payload)))
            rows.append(("on the host: the same imports unpacked, bytecode cached",
                         on_host(options.repeat, "PYTHONPATH=%s python3 -c 'import ansible.module_utils.basic'"
                                 % unpacked)))
            alone = statistics.median(play(workdir, 0, "ansible.builtin.ping") for _run in range(3))
            ping = statistics.median(play(workdir, options.tasks, "ansible.builtin.ping") for _run in range(3))
            debug = statistics.median(play(workdir, options.tasks, "ansible.builtin.debug") for _run in range(3))
            rows.append(("a task that reaches the host (`ping`), as Ansible runs it", (ping - alone) / options.tasks))
            rows.append(("a task the controller answers alone (`debug`)", (debug - alone) / options.tasks))
    finally:
        docker("rm", "-f", HOST, check=False)
    print("Cost of one task, median (%d runs; plays of %d tasks, 3 runs each):\n" % (options.repeat, options.tasks))
    print("| part | seconds |")
    print("|---|---:|")
    for label, seconds in rows:
        print("| %s | %.3f |" % (label, seconds))
    keys = ["docker_exec_true", "docker_exec_python", "ping_payload_on_host", "imports_cached_on_host",
            "task_reaching_host", "task_on_controller"]
    write_results("task_cost", {"repeat": options.repeat, "tasks": options.tasks,
                                "medians": {key: seconds for key, (_label, seconds) in zip(keys, rows)},
                                "labels": {key: label for key, (label, _seconds) in zip(keys, rows)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
