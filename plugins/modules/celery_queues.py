#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: celery_queues
short_description: Report and remove the Celery tasks in a Redis broker that the rolled-back code does not know
version_added: 0.1.0
description:
  - During an application rollback the tasks the bad release queued are still in the broker when the old
    workers start, under task names the old code does not register. Run this module while every worker, beat
    and web process is stopped, before the workers start on the rolled-back code.
  - Reads the Celery queues of a Redis broker as kombu's redis transport keeps them - the list named after
    each queue, its priority lists (C(<queue>\x06\x16<1-9>)) and the messages a worker fetched and did not
    acknowledge (the C(unacked) hash and C(unacked_index) sorted set, restored to their queue by kombu; ETA
    and countdown tasks, or a worker that was killed) - and reports how many messages each holds and which
    task names the target code does not register.
  - Per O(policy), removes them. Every message removed is first appended to O(save_to) (JSON lines, mode 0600,
    synced to disk) and only then removed, one by one (C(LREM <list> 1 <message>); C(HDEL)/C(ZREM) for an
    unacked one), never by deleting a whole list. Nothing is lost - O(restore_from) puts them back.
  - Messages that cannot be read (not JSON, an unknown serializer for protocol 1) count as unknown, under the
    name V((unreadable\)). Celery's own tasks (C(celery.*)) are always known.
  - Task names the target code registers are given in O(known_tasks), or read from the application
    (O(celery_app)) by running a small script with the target virtualenv's O(python) - it finds the app as
    C(celery -A) does, calls C(django.setup) when C(DJANGO_SETTINGS_MODULE) is set and Django importable,
    imports the task modules and prints the app's tasks, broker URL and queues.
  - Only Redis brokers (C(redis://), C(rediss://), C(redis+socket://), C(unix://)); the client is built in
    (no redis-py needed on the host). Redis Cluster and Sentinel are not supported.
author:
  - runbooks.rollback developers (@runbooks)
options:
  broker_url:
    description:
      - The Redis broker, as Celery takes it - C(redis://[[user]:password@]host[:port][/db]), C(rediss://...)
        (TLS; C(?ssl_cert_reqs=none|optional|required), C(ssl_ca_certs=<CA file>), C(ssl_certfile),
        C(ssl_keyfile) as kombu), C(redis+socket:///path/to/redis.sock?virtual_host=N) or C(unix:///path?db=N).
      - Never logged; the module names the broker with the password replaced by C(***).
      - When empty, the app's C(broker_url) (O(celery_app)) is used.
    type: str
  queues:
    description:
      - The Celery queue names. Each one's priority lists and unacked messages are read with it.
      - Empty means the app's C(task_default_queue), the names of its C(task_queues) and the queues its
        C(task_routes) (as a dict, or a list of dicts) name; V([celery]) when no O(celery_app) is given.
    type: list
    elements: str
    default: []
  known_tasks:
    description:
      - The task names the target (rolled-back) code registers. Given, it wins over the app's list.
      - Required (or O(celery_app)) with O(policy=purge_unknown).
    type: list
    elements: str
  celery_app:
    description:
      - The Celery app as C(celery -A) takes it (e.g. V(open_discussions), V(proj.celery:app)), read with
        O(python) in O(app_dir) to learn the tasks it registers, its broker URL and its queues.
      - When the script fails, the module fails with the last lines it wrote to stderr (the values of
        O(environment) and URL passwords masked).
    type: str
  python:
    description: The target virtualenv's python, which runs the app's script (with O(celery_app)).
    type: path
  app_dir:
    description: The application's directory - the script's working directory and first on its C(sys.path).
    type: path
  environment:
    description:
      - Environment variables for the app's script (C(DJANGO_SETTINGS_MODULE), the settings' variables), over
        the module's own environment.
      - Never logged - Ansible masks each of its values (V(********)) wherever it appears in the output,
        so do not pass values as short as a word of the output.
    type: dict
    default: {}
  app_user:
    description:
      - When the module runs as root, the app's script is run as this user (C(runuser -u <user> --)), the user
        the application runs as. Ignored (with a warning) when the module does not run as root.
    type: str
  policy:
    description:
      - V(report) reads and reports, removes nothing.
      - V(purge_unknown) removes the messages whose task the target code does not know (unreadable ones too).
      - V(purge_all) removes every message of the queues.
      - Ignored with O(restore_from).
    type: str
    choices: [report, purge_unknown, purge_all]
    default: purge_unknown
  save_to:
    description:
      - Required when O(policy) removes messages. Each message removed is appended to this file first, one JSON
        line each - C(queue) (the list key), C(source) (V(list) or V(unacked)), C(delivery_tag), C(task), C(id),
        C(eta) and C(raw), the exact value stored in Redis (C(raw_b64) when it is not UTF-8). For an unacked
        message C(raw) is the hash's value and C(queue) the list of its routing key.
      - Opened for appending only, with O_NOFOLLOW (a symbolic link is refused), mode 0600 (a wider mode is
        tightened, with a warning); its directory is created 0700 when missing. The lines are synced to disk
        before anything is removed. A resumed rollback appends to the same file.
      - The file holds the tasks' arguments - keep it on the host, readable by root only.
    type: path
  restore_from:
    description:
      - Instead of reading and purging, push every message of this file (written by this module) back to its
        list with C(LPUSH), the end kombu's producers use, in the order that gives back the queue's order; an
        unacked one goes to the list of its routing key (its plain list, which every worker reads).
      - Before the first push the file is renamed C(<file>.requeued-<UTC timestamp>), so that a second call cannot
        queue them twice. When a push fails, the lines not pushed yet are written to a new file at O(restore_from)
        - run the task again to push the rest.
    type: path
  allow_consumers:
    description:
      - Before removing anything the module lists the clients of Redis (C(CLIENT LIST)); a client whose last
        command is a blocking pop (C(BRPOP), C(BLPOP), C(BZPOPMIN) ...) on this database is a worker consuming,
        and the module fails naming it. V(true) removes all the same, with a warning.
      - In check mode consumers are a warning (a check-mode run stops no worker).
      - A Redis that refuses C(CLIENT) (a managed service) is a warning.
    type: bool
    default: false
  connect_timeout:
    description: Seconds to wait for the connection to Redis.
    type: int
    default: 10
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description:
      - Reads and reports, returns RV(would_remove); writes no file and removes nothing. With O(restore_from),
        reads the file and returns what it would push (RV(would_requeue), RV(requeued_to)).
    support: full
notes:
  - Stop the workers, beat and the web processes first; a message a process queues or takes meanwhile is
    not in the report. A message saved but gone by the time it is removed is counted in RV(vanished).
  - Kombu's C(global_keyprefix) transport option is honoured when the app (O(celery_app)) sets it.
requirements:
  - Python 3.8 or later on the host; no Python package (the Redis client is built in).
seealso:
  - module: runbooks.rollback.supervisor_programs
'''

EXAMPLES = r'''
- name: Remove the tasks the rolled-back code does not know (saved first, to be requeued if needed)
  runbooks.rollback.celery_queues:
    celery_app: open_discussions
    python: /opt/open_discussions/venv/bin/python
    app_dir: /opt/open_discussions/app
    app_user: mitodl
    environment:
      DJANGO_SETTINGS_MODULE: open_discussions.settings
    policy: purge_unknown
    save_to: "{{ rollback_state_dir }}/{{ rollback_id }}/celery-removed.jsonl"
  become: true
  register: celery_queues_result

- name: Only report, with the broker and the task names given
  runbooks.rollback.celery_queues:
    broker_url: "{{ celery_broker_url }}"
    queues: [celery, emails]
    known_tasks: "{{ target_release_tasks }}"
    policy: report

- name: Put the removed messages back (the fix-forward release knows them)
  runbooks.rollback.celery_queues:
    broker_url: "{{ celery_broker_url }}"
    restore_from: "{{ rollback_state_dir }}/{{ rollback_id }}/celery-removed.jsonl"
  become: true
'''

RETURN = r'''
queues:
  description:
    - Per list read - the queue's own list, and each of its priority lists that holds messages, named
      V(<queue> (priority N\)) - the number of messages, of unknown ones, and the count of each task name.
    - C(unknown) is null when no task list is known (neither O(known_tasks) nor O(celery_app)).
  returned: success
  type: dict
  sample: {"celery": {"messages": 3, "unknown": 2, "tasks": {"channels.tasks.new_feature": 2, "search.tasks.index_post": 1}},
           "celery (priority 3)": {"messages": 1, "unknown": 0, "tasks": {"search.tasks.index_post": 1}}}
unacked:
  description: The same counts for the messages of the queues in kombu's C(unacked) hash.
  returned: success
  type: dict
  sample: {"messages": 1, "unknown": 1, "tasks": {"channels.tasks.new_feature": 1}}
total:
  description: All messages read (the lists and the unacked ones).
  returned: success
  type: int
  sample: 5
unknown_total:
  description: The messages whose task the target code does not know (unreadable ones included); null when no task list is known.
  returned: success
  type: int
  sample: 3
unknown_tasks:
  description: The unknown task names, sorted; V((unreadable\)) for messages that cannot be read.
  returned: success
  type: list
  elements: str
  sample: ["(unreadable)", "channels.tasks.new_feature"]
removed:
  description: The messages removed (0 in check mode and with O(policy=report)).
  returned: success
  type: int
  sample: 3
would_remove:
  description: The messages the policy selects for removal (in check mode, what would be removed).
  returned: success
  type: int
  sample: 3
vanished:
  description: Messages saved to O(save_to) but no longer in Redis when they were to be removed (taken by a process meanwhile).
  returned: success
  type: int
  sample: 0
saved_to:
  description: The file the removed messages were appended to; null when nothing was written.
  returned: success
  type: str
  sample: /var/lib/runbooks-rollback/20261124T103000/celery-removed.jsonl
known_tasks_count:
  description: The number of task names known (O(known_tasks), else the app's); null when none is known.
  returned: success
  type: int
  sample: 142
requeued:
  description: With O(restore_from), the messages pushed back (0 in check mode).
  returned: success
  type: int
  sample: 3
would_requeue:
  description: With O(restore_from), the messages the file holds (in check mode, what would be pushed).
  returned: success
  type: int
  sample: 3
requeued_to:
  description: With O(restore_from), the number of messages per list they are (would be) pushed to.
  returned: success
  type: dict
  sample: {"celery": 2, "celery (priority 3)": 1}
renamed_to:
  description: With O(restore_from), the name the file was given; null in check mode and otherwise.
  returned: success
  type: str
  sample: /var/lib/runbooks-rollback/20261124T103000/celery-removed.jsonl.requeued-20261124T110502Z
broker:
  description: The broker, its password replaced by C(***).
  returned: always
  type: str
  sample: "redis://:***@redis.internal:6379/0"
policy:
  description: The policy applied (V(restore) with O(restore_from)).
  returned: success
  type: str
  sample: purge_unknown
'''

import json
import os
import re
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import sync_directory
from ansible_collections.runbooks.rollback.plugins.module_utils import celery_messages as cm
from ansible_collections.runbooks.rollback.plugins.module_utils.redis_client import (
    Redis, RedisError, RedisReplyError, parse_url, redact)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import utcnow

# Seconds the app's script may take (importing a Django project takes a few).
APP_TIMEOUT = 180
STDERR_LINES = 15
MARKER = "@@runbooks.rollback.celery_queues@@"
BLOCKING_POPS = ("brpop", "blpop", "bzpopmin", "bzpopmax", "brpoplpush", "blmove", "blmpop", "bzmpop")
REMOVING = ("purge_unknown", "purge_all")

# Run by the target virtualenv's python: argv = [app_dir, app, MARKER]. The app's own prints go to stderr;
# the result is one line on stdout after MARKER.
APP_SCRIPT = r'''
import json, os, sys
app_dir, name, marker = sys.argv[1], sys.argv[2], sys.argv[3]
out, sys.stdout = sys.stdout, sys.stderr
if app_dir:
    sys.path.insert(0, app_dir)
done = []
def setup_django():
    if done or not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    try:
        import django
    except ImportError:
        return
    done.append(1)
    django.setup()
setup_django()
try:
    from celery.app.utils import find_app
except ImportError:
    from celery.bin.base import find_app
app = find_app(name)
setup_django()
app.loader.import_default_modules()
conf = app.conf
def queue_name(queue):
    return queue if isinstance(queue, str) else getattr(queue, "name", None)
queues = conf.task_queues or []
names = list(queues) if isinstance(queues, dict) else [queue_name(q) for q in queues]
routed = []
def routes(value):
    if isinstance(value, dict):
        for target in value.values():
            if isinstance(target, dict):
                target = target.get("queue")
            target = queue_name(target)
            if target:
                routed.append(target)
    elif isinstance(value, (list, tuple)):
        for item in value:
            routes(item)
routes(conf.task_routes)
options = conf.broker_transport_options or {}
out.write(marker + json.dumps({
    "tasks": sorted(app.tasks),
    "broker_url": conf.broker_url or os.environ.get("CELERY_BROKER_URL"),
    "default_queue": conf.task_default_queue,
    "queues": [n for n in names if isinstance(n, str)],
    "route_queues": [n for n in routed if isinstance(n, str)],
    "global_keyprefix": options.get("global_keyprefix") or "",
}) + "\n")
out.flush()
'''

_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s@/]+@")


class CeleryQueuesError(Exception):
    """A failure the operator can act on; the message is the module's msg."""


# --- the app ------------------------------------------------------------------------------

def scrub(textvalue, secrets):
    """stderr of the app's script without the environment's values and URL passwords."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        textvalue = textvalue.replace(secret, "********")
    return _URL_PASSWORD.sub(r"\1***@", textvalue)


def read_app(params, warnings):
    """{tasks, broker_url, default_queue, queues, route_queues, global_keyprefix} of the app."""
    environment = dict((str(k), "" if v is None else str(v)) for k, v in (params["environment"] or {}).items())
    argv = [params["python"], "-c", APP_SCRIPT, params["app_dir"] or "", params["celery_app"], MARKER]
    if params["app_user"]:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", params["app_user"], "--"] + argv
        else:
            warnings.append("app_user=%s is ignored: the module does not run as root (become: true runs the app's "
                            "script as that user)" % params["app_user"])
    where = "the Celery app %s (python %s%s)" % (
        params["celery_app"], params["python"], ", in %s" % params["app_dir"] if params["app_dir"] else "")
    env = dict(os.environ)
    env.update(environment)
    try:
        proc = subprocess.run(argv, cwd=params["app_dir"] or None, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=APP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise CeleryQueuesError("reading %s did not finish within %d seconds: does importing it wait for a "
                                "database or a network service? Pass known_tasks and broker_url instead"
                                % (where, APP_TIMEOUT))
    except OSError as exc:
        raise CeleryQueuesError("cannot run %s: %s; python must be the target virtualenv's interpreter "
                                "(e.g. /opt/app/venv/bin/python) and app_dir an existing directory"
                                % (where, exc.strerror or exc))
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = scrub(proc.stderr.decode("utf-8", "replace"), environment.values())
    found = None
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            found = line[len(MARKER):]
    if proc.returncode != 0 or found is None:
        tail = "\n".join(stderr.rstrip().splitlines()[-STDERR_LINES:]) or "(nothing on stderr)"
        raise CeleryQueuesError("cannot load %s (exit %d): check celery_app (as celery -A takes it), app_dir, python "
                                "(the target virtualenv's, with celery installed) and environment "
                                "(DJANGO_SETTINGS_MODULE, the variables the settings read). Last lines of its "
                                "stderr:\n%s" % (where, proc.returncode, tail))
    try:
        info = json.loads(found)
    except ValueError:
        raise CeleryQueuesError("%s printed a result that is not JSON; is the app printing on stdout?" % where)
    if not isinstance(info, dict) or not isinstance(info.get("tasks"), list):
        raise CeleryQueuesError("%s printed an unexpected result: %s" % (where, found[:200]))
    return info


# --- redis --------------------------------------------------------------------------------

def lrange(client, key):
    try:
        return client.command("LRANGE", key, 0, -1) or []
    except RedisReplyError as exc:
        if exc.reply.startswith("WRONGTYPE"):
            raise CeleryQueuesError("the key %r on %s is not a list, so not a kombu queue: check queues (the Celery "
                                    "queue names) and the database of the broker URL" % (key, client.redacted))
        raise


def hgetall(client, key):
    try:
        flat = client.command("HGETALL", key) or []
    except RedisReplyError as exc:
        if exc.reply.startswith("WRONGTYPE"):
            raise CeleryQueuesError("the key %r on %s is not a hash, so not kombu's unacked messages: is this "
                                    "database a Celery broker?" % (key, client.redacted))
        raise
    return list(zip(flat[0::2], flat[1::2]))


def consumers(client, db):
    """(clients in a blocking pop on this db, None) or (None, why CLIENT could not be used)."""
    try:
        own = client.command("CLIENT", "ID")
    except RedisReplyError:
        own = None
    try:
        listing = client.command("CLIENT", "LIST")
    except RedisReplyError as exc:
        return None, exc.reply
    found = []
    for line in cm.text(listing).splitlines():
        fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        if own is not None and fields.get("id") == str(own):
            continue
        if fields.get("cmd", "").lower() in BLOCKING_POPS and fields.get("db") == str(db):
            found.append(fields)
    return found, None


def describe_consumers(found):
    return ", ".join("%s (name %r, %s)" % (c.get("addr", "?"), c.get("name", ""), c.get("cmd", "?").upper())
                     for c in found)


# --- reading and purging ------------------------------------------------------------------

def queue_names(params, app):
    names = list(params["queues"] or [])
    if not names and app is not None:
        names = [app.get("default_queue") or "celery"] + list(app.get("queues") or []) + \
            list(app.get("route_queues") or [])
    if not names:
        names = ["celery"]
    unique = []
    for name in names:
        if name and name not in unique:
            unique.append(name)
    return unique


def inventory(client, names, prefix, warnings):
    """[(key, priority, [(raw, parsed)])] of the lists, [(tag, queue key, raw, parsed)] of unacked."""
    lists = []
    for name in names:
        for key, priority in cm.queue_keys(name, prefix):
            values = lrange(client, key)
            if priority == 0 or values:
                lists.append((key, priority, [(raw, cm.parse_message(raw)) for raw in values]))
    unacked = []
    unreadable = 0
    for tag, raw in hgetall(client, prefix + cm.UNACKED_KEY):
        parsed = cm.parse_unacked(raw)
        if parsed is None:
            unreadable += 1
            continue
        if parsed["routing_key"] in names:
            parsed["delivery_tag"] = cm.text(tag)
            unacked.append((tag, prefix + parsed["routing_key"], raw, parsed))
    if unreadable:
        warnings.append("%d entries of kombu's %r hash cannot be read (not [message, exchange, routing_key]): their "
                        "queue cannot be told; they were left alone" % (unreadable, prefix + cm.UNACKED_KEY))
    return lists, unacked


def selected(policy, task, known):
    if policy == "purge_all":
        return True
    if policy == "purge_unknown":
        return not cm.is_known(task, known)
    return False


def purge(params, check_mode, client, app, known, warnings):
    policy = params["policy"]
    prefix = (app or {}).get("global_keyprefix") or ""
    names = queue_names(params, app)
    lists, unacked = inventory(client, names, prefix, warnings)
    result = {"queues": {}, "unacked": cm.summary([p["task"] for _t, _k, _r, p in unacked], known)}
    entries = []
    removals = []
    for key, _priority, messages in lists:
        result["queues"][cm.readable_key(key)] = cm.summary([p["task"] for _r, p in messages], known)
        for raw, parsed in messages:
            if selected(policy, parsed["task"], known):
                entries.append(cm.save_entry(key, "list", raw, parsed))
                removals.append(("list", key, raw))
    for tag, key, raw, parsed in unacked:
        if selected(policy, parsed["task"], known):
            entries.append(cm.save_entry(key, "unacked", raw, parsed))
            removals.append(("unacked", key, tag))
    everything = [p["task"] for _k, _pr, messages in lists for _r, p in messages] + \
        [p["task"] for _t, _k, _r, p in unacked]
    result["total"] = len(everything)
    if known is None:
        result["unknown_total"] = None
        result["unknown_tasks"] = []
    else:
        unknown = [cm.task_label(t) for t in everything if not cm.is_known(t, known)]
        result["unknown_total"] = len(unknown)
        result["unknown_tasks"] = sorted(set(unknown))
    result.update(would_remove=len(removals), removed=0, vanished=0, saved_to=None, changed=False)
    if not removals:
        return result

    found, refused = consumers(client, client.info["db"])
    if refused is not None:
        warnings.append("cannot list the clients of %s to make sure no worker consumes (%s); make sure every Celery "
                        "worker is stopped" % (client.redacted, refused))
    elif found:
        what = ("a Celery worker is still consuming from %s: %s" % (client.redacted, describe_consumers(found)))
        if check_mode:
            warnings.append(what + "; a real run would fail until it is stopped (or allow_consumers=true)")
        elif params["allow_consumers"]:
            warnings.append(what + "; removing all the same (allow_consumers=true)")
        else:
            raise CeleryQueuesError(what + ": stop it first (the workers must be stopped before their queues are "
                                    "cleaned), or pass allow_consumers=true")
    if check_mode:
        return result

    written = cm.append_lines(params["save_to"], cm.serialize(entries))
    warnings.extend(written["warnings"])
    result["saved_to"] = params["save_to"]
    result["changed"] = True
    removed = 0
    try:
        for source, key, value in removals:
            if source == "list":
                removed += int(client.command("LREM", key, 1, value) or 0)
            else:
                removed += int(client.command("HDEL", prefix + cm.UNACKED_KEY, value) or 0)
                client.command("ZREM", prefix + cm.UNACKED_INDEX_KEY, value)
    except RedisError as exc:
        raise CeleryQueuesError("%s; %d of the %d messages were removed, all %d are saved in %s: run the task again "
                                "to remove the rest (the file is appended to)"
                                % (exc, removed, len(removals), len(removals), params["save_to"]))
    result["removed"] = removed
    result["vanished"] = len(removals) - removed
    if result["vanished"]:
        warnings.append("%d of the messages saved to %s were no longer in redis when they were to be removed (a "
                        "process took them meanwhile: is every worker stopped?); requeuing that file would queue "
                        "them again" % (result["vanished"], params["save_to"]))
    return result


def restore(params, check_mode, client, warnings):
    path = params["restore_from"]
    entries = cm.read_saved(path)
    # The file lists each queue's messages from its left end (the newest) on: pushing them from the
    # last line back to the first gives each list its order again.
    pushes = [(entry["queue"], cm.requeue_value(entry), index) for index, entry in reversed(list(enumerate(entries)))]
    requeued_to = {}
    for key, _value, _index in pushes:
        requeued_to[cm.readable_key(key)] = requeued_to.get(cm.readable_key(key), 0) + 1
    result = {"would_requeue": len(pushes), "requeued": 0, "requeued_to": requeued_to, "renamed_to": None,
              "changed": not check_mode}
    if check_mode:
        return result
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    renamed = "%s.requeued-%s" % (path, stamp)
    suffix = 1
    while os.path.lexists(renamed):
        renamed = "%s.requeued-%s-%d" % (path, stamp, suffix)
        suffix += 1
    try:
        os.rename(path, renamed)
    except OSError as exc:
        raise CeleryQueuesError("cannot rename %s to %s before requeuing (so that a second run cannot queue its "
                                "messages twice): %s; nothing was requeued" % (path, renamed, exc.strerror or exc))
    sync_directory(os.path.dirname(path) or ".")
    result["renamed_to"] = renamed
    for done, (key, value, index) in enumerate(pushes):
        try:
            client.command("LPUSH", key, value)
        except RedisError as exc:
            rest = [entries[i] for i in sorted(i for _k, _v, i in pushes[done:])]
            try:
                cm.write_new(path, cm.serialize(rest))
                left = "the %d not pushed are written to %s again: run the task again to push them" % (len(rest), path)
            except (OSError, cm.SaveFileError) as write_exc:
                left = ("the %d not pushed could not be written to %s (%s): they are the lines %s of %s"
                        % (len(rest), path, write_exc,
                           ", ".join(str(i + 1) for i in sorted(i for _k, _v, i in pushes[done:])), renamed))
            raise CeleryQueuesError("%s; %d of the %d messages of %s were requeued (it is now %s); %s"
                                    % (exc, done, len(pushes), path, renamed, left))
        result["requeued"] = done + 1
    return result


# --- the module ---------------------------------------------------------------------------

def first_url(url, warnings):
    if url and ";" in url:
        warnings.append("the broker URL is a failover list; only its first broker (%s) is read"
                        % redact(url.split(";")[0]))
        return url.split(";")[0].strip()
    return url


def celery_queues(params, check_mode):
    """The module's result; a failure raises with ``result`` (what is known so far) and ``warnings``."""
    warnings = []
    result = {"broker": redact(params["broker_url"]) if params["broker_url"] else "",
              "policy": "restore" if params["restore_from"] else params["policy"]}
    try:
        result = _celery_queues(params, check_mode, warnings, result)
    except (RedisError, cm.SaveFileError, CeleryQueuesError) as exc:
        exc.result = result
        exc.warnings = warnings
        raise
    result["warnings"] = warnings
    return result


def _celery_queues(params, check_mode, warnings, result):
    restoring = bool(params["restore_from"])
    policy = params["policy"]
    if not restoring and policy in REMOVING and not params["save_to"]:
        raise CeleryQueuesError("policy=%s removes messages and needs save_to: the file each one is written to "
                                "before it is removed (restore_from puts them back); or use policy=report" % policy)
    if not restoring and policy == "purge_unknown" and params["known_tasks"] is None and not params["celery_app"]:
        raise CeleryQueuesError("policy=purge_unknown must know the task names the rolled-back code registers: pass "
                                "known_tasks, or celery_app with python and app_dir to read them from the app; or "
                                "use policy=report or purge_all")
    app = read_app(params, warnings) if params["celery_app"] else None
    url = first_url(params["broker_url"] or (app or {}).get("broker_url"), warnings)
    if not url:
        raise CeleryQueuesError("no broker: pass broker_url (redis://[:password@]host:6379/0), or celery_app for an "
                                "app whose broker_url is set")
    if params["known_tasks"] is not None:
        known = set(params["known_tasks"])
    elif app is not None:
        known = set(app["tasks"])
    else:
        known = None
    result.update(broker=redact(url), queues={}, unacked=cm.summary([], known), total=0,
                  unknown_total=0 if known is not None else None, unknown_tasks=[], removed=0, would_remove=0,
                  vanished=0, saved_to=None, known_tasks_count=len(known) if known is not None else None,
                  requeued=0, would_requeue=0, requeued_to={}, renamed_to=None, changed=False)
    with Redis(url, connect_timeout=params["connect_timeout"]) as client:
        if restoring:
            result.update(restore(params, check_mode, client, warnings))
        else:
            result.update(purge(params, check_mode, client, app, known, warnings))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            broker_url=dict(type="str", no_log=True),
            queues=dict(type="list", elements="str", default=[]),
            known_tasks=dict(type="list", elements="str"),
            celery_app=dict(type="str"),
            python=dict(type="path"),
            app_dir=dict(type="path"),
            environment=dict(type="dict", default={}, no_log=True),
            app_user=dict(type="str"),
            policy=dict(type="str", default="purge_unknown", choices=["report", "purge_unknown", "purge_all"]),
            save_to=dict(type="path"),
            restore_from=dict(type="path"),
            allow_consumers=dict(type="bool", default=False),
            connect_timeout=dict(type="int", default=10),
        ),
        required_by={"celery_app": ["python"]},
        supports_check_mode=True,
    )
    url = module.params["broker_url"]
    try:
        if url and parse_url(url.split(";")[0])["password"] is None:
            # Nothing secret in a URL without a password: let the redacted broker show in the output.
            module.no_log_values.discard(url)
    except RedisError:
        pass
    try:
        result = celery_queues(module.params, module.check_mode)
    except (RedisError, cm.SaveFileError, CeleryQueuesError) as exc:
        for warning in getattr(exc, "warnings", []):
            module.warn(warning)
        module.fail_json(msg=str(exc), **getattr(exc, "result", {}))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
