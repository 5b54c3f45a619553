"""celery_queues: real redis-server, real messages written by Celery's own producer and kombu's consumer.

Nothing is mocked: a throw-away redis-server (tests/redis_server.py) per module, one database per
test, messages sent with ``Celery(broker=url).send_task`` (protocol 2 and 1, countdowns, priorities),
unacked messages left by a real kombu consumer that dies before its ack, a real blocking BRPOP client
standing for a worker, and a tiny Celery app package read with the project's virtualenv python.
The assertions read redis back with redis-py, another client than the module's.
"""
from __future__ import annotations

import glob
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import redis
from celery import Celery

from ansible_collections.runbooks.rollback.plugins.module_utils import celery_messages as cm
from ansible_collections.runbooks.rollback.plugins.modules import celery_queues
from module_runner import run_module, warning_messages

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
from redis_server import redis_server  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

PYTHON = sys.executable
SEP = "\x06\x16"
KNOWN = ["channels.tasks.update_post", "search.tasks.index_post"]
NEW = "channels.tasks.new_feature"  # only in the bad release
PASSWORD = "Tr0ub4dor-and-3"


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with redis_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def locked_server():
    with redis_server(requirepass=PASSWORD) as srv:
        yield srv


_DB = [0]


@pytest.fixture()
def broker(server):
    """A fresh database for one test: {url, db, r (redis-py client)}."""
    _DB[0] = _DB[0] % 15 + 1
    db = _DB[0]
    url = "redis://127.0.0.1:%d/%d" % (server["port"], db)
    client = redis.Redis(host="127.0.0.1", port=server["port"], db=db)
    client.flushdb()
    try:
        yield {"url": url, "db": db, "r": client, "server": server}
    finally:
        client.flushdb()
        client.close()


def send(url, *tasks, **app_conf):
    """Send tasks with Celery's producer: each a name or (name, send_task options); their ids."""
    app = Celery("producer", broker=url, set_as_current=False)
    app.conf.update(app_conf)
    ids = []
    try:
        for task in tasks:
            name, options = (task, {}) if isinstance(task, str) else task
            options = dict(options)
            options.setdefault("args", (1, "x"))
            ids.append(app.send_task(name, **options).id)
    finally:
        app.close()
    return ids


def run(capsys, broker_url, check_mode=False, **args):
    args.setdefault("broker_url", broker_url)
    if check_mode:
        args["_ansible_check_mode"] = True
    return run_module(celery_queues, args, capsys)


def lrange(r, key):
    return r.lrange(key, 0, -1)


def saved(path):
    return [json.loads(line) for line in open(path, encoding="ascii").read().splitlines()]


def task_of(raw):
    return cm.parse_message(raw)["task"]


# --- report -------------------------------------------------------------------------------

def test_report_counts_each_queue_and_names_the_unknown_tasks(capsys, broker):
    url, r = broker["url"], broker["r"]
    send(url, KNOWN[0], (KNOWN[1], {"countdown": 600}), NEW, (NEW, {"countdown": 3600}),
         (NEW, {"priority": 5}), (KNOWN[0], {"priority": 9}), ("celery.backend_cleanup", {}))
    send(url, ("legacy.tasks.protocol_one", {"countdown": 60}), task_protocol=1)
    r.lpush("celery", b"not json at all \xff")
    before = {key: lrange(r, key) for key in ("celery", "celery" + SEP + "3", "celery" + SEP + "9")}
    # kombu puts priority 5 in the list of step 3 (steps 0, 3, 6, 9), 9 in its own
    assert len(before["celery"]) == 7 and len(before["celery" + SEP + "3"]) == 1
    assert len(before["celery" + SEP + "9"]) == 1

    result, failed = run(capsys, url, policy="report", known_tasks=KNOWN)
    assert not failed, result
    assert result["changed"] is False and result["removed"] == 0 and result["saved_to"] is None
    assert result["queues"] == {
        "celery": {"messages": 7, "unknown": 4, "tasks": {
            "(unreadable)": 1, "celery.backend_cleanup": 1, NEW: 2, KNOWN[0]: 1, KNOWN[1]: 1,
            "legacy.tasks.protocol_one": 1}},
        "celery (priority 3)": {"messages": 1, "unknown": 1, "tasks": {NEW: 1}},
        "celery (priority 9)": {"messages": 1, "unknown": 0, "tasks": {KNOWN[0]: 1}},
    }
    assert result["unacked"] == {"messages": 0, "unknown": 0, "tasks": {}}
    assert result["total"] == 9 and result["unknown_total"] == 5
    assert result["unknown_tasks"] == ["(unreadable)", NEW, "legacy.tasks.protocol_one"]
    assert result["would_remove"] == 0 and result["known_tasks_count"] == 2
    assert result["broker"] == url and result["policy"] == "report"
    assert {key: lrange(r, key) for key in before} == before


def test_report_without_a_task_list_counts_but_does_not_judge(capsys, broker):
    send(broker["url"], NEW, KNOWN[0])
    result, failed = run(capsys, broker["url"], policy="report")
    assert not failed, result
    assert result["queues"] == {"celery": {"messages": 2, "unknown": None, "tasks": {NEW: 1, KNOWN[0]: 1}}}
    assert result["unknown_total"] is None and result["unknown_tasks"] == [] and result["known_tasks_count"] is None


# --- purge_unknown, the save file, restore_from --------------------------------------------

def test_purge_unknown_keeps_the_known_saves_the_unknown_and_restore_puts_them_back(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    ids = send(url, KNOWN[0], NEW, (NEW, {"countdown": 900}), KNOWN[1], (NEW, {"priority": 3}),
               ("celery.chord_unlock", {}), (NEW, {"queue": "emails"}), (KNOWN[1], {"queue": "emails"}))
    r.lpush("celery", b"\xff\xfe garbage")
    keys = ["celery", "celery" + SEP + "3", "emails"]
    original = {key: lrange(r, key) for key in keys}
    save_to = tmp_path / "state" / "rb-1" / "celery-removed.jsonl"

    result, failed = run(capsys, url, queues=["celery", "emails"], known_tasks=KNOWN, save_to=str(save_to))
    assert not failed, result
    assert result["changed"] is True and result["policy"] == "purge_unknown"
    assert result["removed"] == 5 and result["would_remove"] == 5 and result["vanished"] == 0
    assert result["saved_to"] == str(save_to)
    # what stays: the known tasks and Celery's own, in their order
    assert lrange(r, "celery") == [raw for raw in original["celery"]
                                   if task_of(raw) in KNOWN + ["celery.chord_unlock"]]
    assert [task_of(raw) for raw in lrange(r, "celery")] == ["celery.chord_unlock", KNOWN[1], KNOWN[0]]
    assert r.exists("celery" + SEP + "3") == 0
    assert [task_of(raw) for raw in lrange(r, "emails")] == [KNOWN[1]]

    assert stat.S_IMODE(os.stat(save_to).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(save_to.parent).st_mode) == 0o700
    lines = saved(save_to)
    removed_raw = [raw for key in keys for raw in original[key] if task_of(raw) not in KNOWN + ["celery.chord_unlock"]]
    assert len(lines) == 5
    assert [cm.raw_of(line) for line in lines] == removed_raw
    assert [line["source"] for line in lines] == ["list"] * 5
    assert sorted(line["queue"] for line in lines) == ["celery", "celery", "celery", "celery" + SEP + "3", "emails"]
    assert "raw_b64" in lines[0] and cm.raw_of(lines[0]) == b"\xff\xfe garbage" and lines[0]["task"] is None
    by_id = dict((line["id"], line) for line in lines if line["id"])
    assert set(by_id) == {ids[1], ids[2], ids[4], ids[6]}
    assert by_id[ids[2]]["eta"] and by_id[ids[1]]["eta"] is None and by_id[ids[1]]["task"] == NEW
    assert all(line["delivery_tag"] for line in lines[1:])

    # restore_from: every message back, byte-identical and in the queue's order; the file renamed
    result, failed = run(capsys, url, restore_from=str(save_to))
    assert not failed, result
    assert result["changed"] is True and result["requeued"] == 5 and result["policy"] == "restore"
    assert result["requeued_to"] == {"celery": 3, "celery (priority 3)": 1, "emails": 1}
    assert not save_to.exists()
    renamed = glob.glob(str(save_to) + ".requeued-*")
    assert renamed == [result["renamed_to"]]
    for key in keys:
        assert sorted(lrange(r, key)) == sorted(original[key]), key
    assert lrange(r, "celery" + SEP + "3") == original["celery" + SEP + "3"]

    # a second restore finds nothing to push, and says where the first went
    result, failed = run(capsys, url, restore_from=str(save_to))
    assert failed and "already requeued" in result["msg"] and renamed[0] in result["msg"]
    assert sorted(lrange(r, "celery")) == sorted(original["celery"])


def test_restore_gives_each_queue_its_order_again(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    send(url, *[("%s_%d" % (NEW, i), {}) for i in range(6)])
    original = lrange(r, "celery")
    save_to = tmp_path / "removed.jsonl"
    result, failed = run(capsys, url, policy="purge_all", save_to=str(save_to))
    assert not failed and result["removed"] == 6 and r.exists("celery") == 0
    result, failed = run(capsys, url, restore_from=str(save_to))
    assert not failed and result["requeued"] == 6
    assert lrange(r, "celery") == original


def test_a_resumed_rollback_appends_to_the_same_file_and_a_wide_mode_is_tightened(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    save_to = tmp_path / "removed.jsonl"
    save_to.write_bytes(b'{"queue": "celery", "source": "list", "raw": "{}"}')  # an earlier line, cut
    os.chmod(save_to, 0o644)
    send(url, NEW)
    result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(save_to))
    assert not failed and result["removed"] == 1
    assert stat.S_IMODE(os.stat(save_to).st_mode) == 0o600
    messages = warning_messages(result)
    assert any("0644" in m and "tightened to 0600" in m for m in messages), messages
    assert any("was cut" in m for m in messages), messages
    send(url, NEW, KNOWN[0])
    result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(save_to))
    assert not failed and result["removed"] == 1
    lines = saved(save_to)
    assert len(lines) == 3 and [line.get("task") for line in lines] == [None, NEW, NEW]
    assert [task_of(raw) for raw in lrange(r, "celery")] == [KNOWN[0]]


def test_nothing_is_removed_when_the_file_cannot_be_written_first(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    send(url, NEW, NEW)
    before = lrange(r, "celery")
    target = tmp_path / "elsewhere.jsonl"
    link = tmp_path / "removed.jsonl"
    link.symlink_to(target)
    result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(link))
    assert failed and "symbolic link" in result["msg"]
    assert lrange(r, "celery") == before and not target.exists()


# --- purge_all, priorities, check mode -----------------------------------------------------

def test_purge_all_empties_the_queues_and_their_priority_lists_only(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    send(url, KNOWN[0], (KNOWN[1], {"priority": 6}), (NEW, {"priority": 9}), (KNOWN[0], {"queue": "emails"}),
         (NEW, {"queue": "other"}))
    other = lrange(r, "other")
    save_to = tmp_path / "removed.jsonl"
    result, failed = run(capsys, url, policy="purge_all", queues=["celery", "emails"], save_to=str(save_to))
    assert not failed, result
    assert result["removed"] == 4 and result["total"] == 4
    assert set(result["queues"]) == {"celery", "celery (priority 6)", "celery (priority 9)", "emails"}
    assert result["unknown_total"] is None  # purge_all needs no task list
    for key in ("celery", "celery" + SEP + "6", "celery" + SEP + "9", "emails"):
        assert r.exists(key) == 0, key
    assert lrange(r, "other") == other
    assert len(saved(save_to)) == 4


def test_check_mode_reports_what_would_go_and_changes_nothing(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    send(url, KNOWN[0], NEW, (NEW, {"priority": 3}))
    before = {key: lrange(r, key) for key in ("celery", "celery" + SEP + "3")}
    save_to = tmp_path / "new-dir" / "removed.jsonl"
    result, failed = run(capsys, url, check_mode=True, known_tasks=KNOWN, save_to=str(save_to))
    assert not failed, result
    assert result["changed"] is False and result["would_remove"] == 2 and result["removed"] == 0
    assert result["saved_to"] is None and not save_to.parent.exists()
    assert {key: lrange(r, key) for key in before} == before

    result, failed = run(capsys, url, policy="purge_all", save_to=str(save_to))
    assert not failed and result["removed"] == 3
    result, failed = run(capsys, url, check_mode=True, restore_from=str(save_to))
    assert not failed, result
    assert result["changed"] is False and result["would_requeue"] == 3 and result["requeued"] == 0
    assert result["requeued_to"] == {"celery": 2, "celery (priority 3)": 1} and result["renamed_to"] is None
    assert save_to.exists() and r.exists("celery") == 0 and r.exists("celery" + SEP + "3") == 0


# --- unacked ------------------------------------------------------------------------------

KILLED_CONSUMER = textwrap.dedent('''
    import os, sys
    from kombu import Connection, Exchange, Queue
    url, names = sys.argv[1], sys.argv[2:]
    got = []
    with Connection(url) as conn:
        queues = [Queue(name, Exchange(name), routing_key=name) for name in names]
        with conn.Consumer(queues, callbacks=[lambda body, message: got.append(
                               "%s=%s" % (message.delivery_info["routing_key"], message.delivery_tag))],
                           accept=["json"]):
            while len(got) < len(names):
                conn.drain_events(timeout=10)
            # a worker killed before its ack: no close, no restore
            sys.stdout.write(" ".join(got) + "\\n")
            sys.stdout.flush()
            os._exit(0)
''')


def test_unacked_messages_of_a_killed_worker_are_counted_saved_removed_and_requeued(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    new_id, = send(url, (NEW, {"countdown": 3600}))
    send(url, (NEW, {"queue": "other"}))
    proc = subprocess.run([PYTHON, "-c", KILLED_CONSUMER, url, "celery", "other"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    tags = dict(pair.split("=", 1) for pair in proc.stdout.split())
    tags = [tags["celery"], tags["other"]]
    assert r.hlen("unacked") == 2 and r.zcard("unacked_index") == 2 and r.exists("celery") == 0
    unacked_value = r.hget("unacked", tags[0])
    assert json.loads(unacked_value)[2] == "celery"

    result, failed = run(capsys, url, policy="report", known_tasks=KNOWN)
    assert not failed, result
    assert result["unacked"] == {"messages": 1, "unknown": 1, "tasks": {NEW: 1}}
    assert result["queues"] == {"celery": {"messages": 0, "unknown": 0, "tasks": {}}}
    assert result["total"] == 1 and result["unknown_tasks"] == [NEW]

    save_to = tmp_path / "removed.jsonl"
    result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(save_to))
    assert not failed, result
    assert result["removed"] == 1
    assert r.hkeys("unacked") == [tags[1].encode()] and r.zrange("unacked_index", 0, -1) == [tags[1].encode()]
    line, = saved(save_to)
    assert line["source"] == "unacked" and line["queue"] == "celery" and line["delivery_tag"] == tags[0]
    assert line["task"] == NEW and line["id"] == new_id and cm.raw_of(line) == unacked_value

    result, failed = run(capsys, url, restore_from=str(save_to))
    assert not failed and result["requeued"] == 1 and result["requeued_to"] == {"celery": 1}
    back, = lrange(r, "celery")
    assert json.loads(back) == json.loads(unacked_value)[0]
    assert cm.parse_message(back)["id"] == new_id


# --- a worker still consuming -------------------------------------------------------------

def test_a_consuming_worker_stops_the_purge_unless_allowed(capsys, broker, tmp_path):
    url, r = broker["url"], broker["r"]
    worker = redis.Redis(host="127.0.0.1", port=broker["server"]["port"], db=broker["db"],
                         client_name="celery@worker-1")
    thread = threading.Thread(target=worker.brpop, args=(["emails"],), kwargs={"timeout": 60}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not [c for c in r.client_list() if c.get("cmd") == "brpop"] and time.monotonic() < deadline:
        time.sleep(0.02)
    consumer, = [c for c in r.client_list() if c.get("cmd") == "brpop"]
    try:
        send(url, NEW)
        before = lrange(r, "celery")
        save_to = tmp_path / "removed.jsonl"
        result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(save_to))
        assert failed
        assert "a Celery worker is still consuming" in result["msg"] and "stop it first" in result["msg"]
        assert consumer["addr"] in result["msg"] and "celery@worker-1" in result["msg"]
        assert lrange(r, "celery") == before and not save_to.exists()

        result, failed = run(capsys, url, check_mode=True, known_tasks=KNOWN, save_to=str(save_to))
        assert not failed and result["would_remove"] == 1
        assert any("still consuming" in m for m in warning_messages(result))

        result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(save_to), allow_consumers=True)
        assert not failed and result["removed"] == 1 and r.exists("celery") == 0
        assert any("allow_consumers=true" in m for m in warning_messages(result))
    finally:
        r.lpush("emails", b"wake up")
        thread.join(10)
        worker.close()


def test_a_redis_that_refuses_client_list_is_a_warning(capsys, tmp_path):
    with redis_server(extra_args=("--rename-command", "CLIENT", "")) as managed:
        url = managed["url"]
        send(url, NEW, KNOWN[0])
        result, failed = run(capsys, url, known_tasks=KNOWN, save_to=str(tmp_path / "removed.jsonl"))
        assert not failed, result
        assert result["removed"] == 1
        assert any("cannot list the clients" in m and "make sure every Celery worker is stopped" in m
                   for m in warning_messages(result)), warning_messages(result)
        remaining = redis.Redis(host="127.0.0.1", port=managed["port"]).lrange("celery", 0, -1)
        assert [task_of(raw) for raw in remaining] == [KNOWN[0]]


# --- connection errors --------------------------------------------------------------------

def test_a_wrong_password_is_a_clear_error_without_the_password(capsys, locked_server, tmp_path):
    port = locked_server["port"]
    result, failed = run(capsys, "redis://:not-the-Password-42@127.0.0.1:%d/0" % port, known_tasks=KNOWN,
                         save_to=str(tmp_path / "x.jsonl"))
    assert failed
    assert "redis://:***@127.0.0.1:%d/0" % port in result["msg"]
    assert "refused the credentials" in result["msg"] and "check the password" in result["msg"]
    assert "not-the-Password-42" not in json.dumps(result) and PASSWORD not in json.dumps(result)
    assert result["broker"] == "redis://:***@127.0.0.1:%d/0" % port

    result, failed = run(capsys, "redis://127.0.0.1:%d/0" % port, policy="report")
    assert failed and "requires a password and broker_url has none" in result["msg"]

    # the right password, over the unix socket, with an ACL user name (Redis 6 "default")
    send(locked_server["url"], NEW)
    for url in (locked_server["socket_url"], "redis://default:%s@127.0.0.1:%d/0" % (PASSWORD, port)):
        result, failed = run(capsys, url, policy="report")
        assert not failed, result
        assert result["total"] == 1 and PASSWORD not in json.dumps(result)
    assert result["broker"] == "redis://default:***@127.0.0.1:%d/0" % port


def test_an_unreachable_broker_and_a_wrong_key_type_say_what_to_check(capsys, broker):
    result, failed = run(capsys, "redis://:pw-secret@127.0.0.1:1/0", policy="report", connect_timeout=2)
    assert failed and "cannot connect to redis at redis://:***@127.0.0.1:1/0" in result["msg"]
    assert "pw-secret" not in json.dumps(result)
    broker["r"].set("celery", "a string")
    result, failed = run(capsys, broker["url"], policy="report")
    assert failed and "is not a list" in result["msg"] and "queues" in result["msg"]


def test_the_options_that_would_lose_messages_are_refused_before_connecting(capsys, broker):
    send(broker["url"], NEW)
    result, failed = run(capsys, broker["url"], known_tasks=KNOWN)
    assert failed and "needs save_to" in result["msg"]
    result, failed = run(capsys, broker["url"], save_to="/nonexistent/x.jsonl")
    assert failed and "known_tasks" in result["msg"] and "celery_app" in result["msg"]
    assert broker["r"].llen("celery") == 1


# --- celery_app: a real app package read with the virtualenv's python ---------------------

APP_INIT = "from .celery import app  # noqa\n"
APP_CELERY = textwrap.dedent('''
    import os, sys
    from celery import Celery
    from kombu import Queue
    if os.environ.get("RB_APP_SECRET") != "s3cret-value-of-the-app":
        raise RuntimeError("the environment option did not reach the app")
    here = os.path.dirname(os.path.abspath(__file__))
    broker = open(os.path.join(here, "..", "broker.txt")).read().strip()
    if os.environ.get("RB_APP_BREAK"):
        raise RuntimeError("the settings are broken: cannot reach %s with %s" % (broker, os.environ["RB_APP_SECRET"]))
    print("the app prints on stdout while it loads")
    app = Celery("rbapp")
    app.conf.broker_url = broker
    app.conf.task_default_queue = "celery"
    app.conf.task_queues = [Queue("celery"), Queue("emails")]
    app.conf.task_routes = {"rbapp.tasks.send_digest": {"queue": "digests"}}
    app.conf.imports = ["rbapp.tasks"]
''')
APP_TASKS = textwrap.dedent('''
    from .celery import app

    @app.task(name="rbapp.tasks.send_email")
    def send_email(address):
        return address

    @app.task(name="rbapp.tasks.send_digest")
    def send_digest():
        return None
''')


def write_app(tmp_path, broker_url):
    package = tmp_path / "app" / "rbapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(APP_INIT)
    (package / "celery.py").write_text(APP_CELERY)
    (package / "tasks.py").write_text(APP_TASKS)
    (tmp_path / "app" / "broker.txt").write_text(broker_url + "\n")
    return str(tmp_path / "app")


def test_celery_app_gives_the_tasks_the_queues_and_the_broker(capsys, locked_server, tmp_path):
    url = locked_server["url"].replace("/0", "/3")
    app_dir = write_app(tmp_path, url)
    client = redis.Redis(host="127.0.0.1", port=locked_server["port"], db=3, password=PASSWORD)
    client.flushdb()
    send(url, "rbapp.tasks.send_email", NEW, ("celery.backend_cleanup", {}), ("rbapp.tasks.send_email", {"queue": "emails"}),
         (NEW, {"queue": "emails"}), ("rbapp.tasks.send_digest", {"queue": "digests"}), (NEW, {"queue": "unlisted"}))
    save_to = tmp_path / "removed.jsonl"
    result, failed = run(capsys, None, celery_app="rbapp", python=PYTHON, app_dir=app_dir, app_user="root",
                         environment={"RB_APP_SECRET": "s3cret-value-of-the-app"}, save_to=str(save_to))
    assert not failed, result
    assert result["broker"] == "redis://:***@127.0.0.1:%d/3" % locked_server["port"]
    assert set(result["queues"]) == {"celery", "emails", "digests"}
    # the app's tasks and Celery's own are known; the bad release's task is not
    assert result["known_tasks_count"] >= 2 and result["unknown_tasks"] == [NEW]
    assert result["removed"] == 2
    assert [task_of(raw) for raw in client.lrange("celery", 0, -1)] == ["celery.backend_cleanup", "rbapp.tasks.send_email"]
    assert [task_of(raw) for raw in client.lrange("emails", 0, -1)] == ["rbapp.tasks.send_email"]
    assert [task_of(raw) for raw in client.lrange("digests", 0, -1)] == ["rbapp.tasks.send_digest"]
    assert client.llen("unlisted") == 1  # not one of the app's queues: not read
    assert PASSWORD not in json.dumps(result) and "s3cret-value-of-the-app" not in json.dumps(result)

    # known_tasks given wins over the app's list
    send(url, "rbapp.tasks.send_email")
    result, failed = run(capsys, None, celery_app="rbapp", python=PYTHON, app_dir=app_dir, policy="report",
                         known_tasks=[NEW], environment={"RB_APP_SECRET": "s3cret-value-of-the-app"})
    assert not failed, result
    assert result["known_tasks_count"] == 1
    assert result["unknown_tasks"] == ["rbapp.tasks.send_digest", "rbapp.tasks.send_email"]
    client.flushdb()
    client.close()


def test_an_app_that_cannot_load_fails_with_its_stderr_and_no_secret(capsys, locked_server, tmp_path):
    app_dir = write_app(tmp_path, locked_server["url"])
    result, failed = run(capsys, None, celery_app="rbapp", python=PYTHON, app_dir=app_dir, policy="report",
                         environment={"RB_APP_SECRET": "s3cret-value-of-the-app", "RB_APP_BREAK": "yes-break-it"})
    assert failed
    assert "cannot load the Celery app rbapp" in result["msg"] and "the settings are broken" in result["msg"]
    assert "cannot reach redis://:***@127.0.0.1" in result["msg"] and "with ********" in result["msg"]
    assert "s3cret-value-of-the-app" not in json.dumps(result) and PASSWORD not in json.dumps(result)

    result, failed = run(capsys, None, celery_app="no_such_app", python=PYTHON, app_dir=app_dir, policy="report")
    assert failed and "no_such_app" in result["msg"]
    assert "ModuleNotFoundError" in result["msg"] or "No module named" in result["msg"]

    result, failed = run(capsys, None, celery_app="rbapp", app_dir=app_dir, policy="report")
    assert failed and "python" in result["msg"]
