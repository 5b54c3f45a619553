"""The notices (communicate's notify and check entry points) through real ansible-playbook runs on
localhost, sent to a real SMTP server (aiosmtpd) and a real HTTP receiver: molecule's receiver
(molecule/resources/notify/receiver.py), started in this process on free ports."""
from __future__ import annotations

import json
import os
import socket
import stat
import sys

import pytest

from playbook_runner import ROOT, run_playbook

sys.path.insert(0, os.path.join(ROOT, "molecule", "resources", "notify"))
import receiver  # noqa: E402  pylint: disable=wrong-import-position,import-error

PLAYBOOK = """
- name: Notices of one event
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check the audiences
      ansible.builtin.include_role:
        name: runbooks.rollback.communicate
        tasks_from: check
    - name: Notify
      ansible.builtin.include_role:
        name: runbooks.rollback.communicate
        tasks_from: notify
"""

SECRET_TOKEN = "T0KEN-s3cr3t-in-the-url"
PASSWORD = "relay-pa55word-never-logged"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def servers(tmp_path):
    ports = {"smtp": free_port(), "http": free_port()}
    running = receiver.start(str(tmp_path / "received"), "127.0.0.1", ports["smtp"], ports["http"])
    yield dict(ports, dir=str(tmp_path / "received"))
    receiver.stop(running)


def record(failed_phase=None):
    phases = {
        "decide": {"status": "completed", "started_at": "2026-12-03T10:00:00Z", "ended_at": "2026-12-03T10:00:20Z",
                   "details": {"deployed_at": "2026-12-03T09:30:00Z", "hours_since_deployment": 0.5, "window": "0-2h",
                               "scenario": 1, "scenario_name": "critical", "recommended_action": "immediate rollback",
                               "reason": "Scenario 1 critical within 0-2h", "scope": "full",
                               "deployed_commit": "abc1234def567", "backup_file": "/backups/od.dump",
                               "sessions": {"exists": True, "active": 6, "users": 5}}},
        "stop": {"status": "completed", "started_at": "2026-12-03T10:01:00Z", "ended_at": "2026-12-03T10:01:05Z",
                 "details": {"maintenance_on_at": "2026-12-03T10:01:02Z"}},
    }
    if failed_phase:
        phases[failed_phase] = {"status": "failed", "started_at": "2026-12-03T10:01:05Z",
                                "ended_at": "2026-12-03T10:01:30Z", "error": "npm run build exited 1"}
    return {"rollback_id": "20261203T100000", "created_at": "2026-12-03T10:00:00Z",
            "updated_at": "2026-12-03T10:01:30Z", "phases": phases, "order": list(phases)}


def notify(tmp_path, servers, event, audiences, **extra):
    extra_vars = {"communicate_event": event, "communicate_record": record("code" if event == "failed" else None),
                  "communicate_dir": str(tmp_path / "report"), "communicate_audiences": audiences,
                  "rollback_mail_port": servers["smtp"] if servers else 1, "rollback_mail_host": "127.0.0.1",
                  "rollback_mail_password": "", "rollback_mail_username": "",
                  "rollback_notify_timeout": 5, "ansible_become_method": "su",
                  "communicate_failed_phase": "code" if event == "failed" else "",
                  "communicate_services_state": "The site shows the maintenance page." if event == "failed" else ""}
    extra_vars.update(extra)
    inventory = tmp_path / "inventory" / "hosts.ini"
    inventory.parent.mkdir(exist_ok=True)
    inventory.write_text("localhost\n")
    return run_playbook(tmp_path, PLAYBOOK, extra_vars, inventory=str(inventory))


def received(servers):
    return receiver.read(servers["dir"])


def audiences(servers):
    base = "http://127.0.0.1:%d" % servers["http"]
    return {
        "engineering": {"mail_to": ["oncall@example.com", "eng-lead@example.com"],
                        "webhook_url": "%s/eng/%s" % (base, SECRET_TOKEN)},
        "product": {"webhook_url": "%s/product" % base, "webhook_format": "slack"},
        "support": {"mail_to": ["support@example.com"]},
        "management": {},
    }


@pytest.mark.parametrize("event, subject", [("start", "started"), ("failed", "STOPPED in phase code"),
                                            ("end", "completed")])
def test_each_audience_gets_its_own_notice_by_its_own_channels(tmp_path, servers, event, subject):
    run = notify(tmp_path, servers, event, audiences(servers))
    assert run.returncode == 0, run.stdout + run.stderr
    got = received(servers)
    mails = {tuple(sorted(m["rcpt_tos"])): m for m in got["mail"]}
    assert set(mails) == {("eng-lead@example.com", "oncall@example.com"), ("support@example.com",)}
    engineering = mails[("eng-lead@example.com", "oncall@example.com")]
    support = mails[("support@example.com",)]
    for mail in (engineering, support):
        assert "rollback 20261203T100000 " + subject in mail["subject"]
    # Engineering hears the technical details, support what to tell users: not the same text.
    assert "abc1234def567" in engineering["body"] or event != "start"
    assert "What to tell users" in support["body"] or "tell users" in support["body"]
    assert engineering["body"] != support["body"]
    posts = {p["path"].split("/")[1]: p for p in got["http"]}
    assert set(posts) == {"eng", "product"}
    assert posts["eng"]["json"]["audience"] == "engineering" and posts["eng"]["json"]["event"] == event
    assert posts["eng"]["json"]["rollback_id"] == "20261203T100000"
    assert set(posts["product"]["json"]) == {"text"}  # Slack/Mattermost: one text field
    assert subject in posts["product"]["json"]["text"]
    # Files for every audience, management (no channel) too, 0600 in a 0700 directory.
    notices = tmp_path / "report" / "notices"
    assert stat.S_IMODE(notices.stat().st_mode) == 0o700
    files = sorted(p.name for p in notices.iterdir())
    for name in ("engineering", "product", "support", "management"):
        written = [f for f in files if f.endswith("-%s-%s.md" % (event, name))]
        assert len(written) == 1, files
        assert stat.S_IMODE((notices / written[0]).stat().st_mode) == 0o600
    sent = json.loads((notices / [f for f in files if f.endswith("-sent.json")][0]).read_text())
    assert sorted((s["audience"], s["channel"], s["ok"]) for s in sent["sent"]) == [
        ("engineering", "mail", True), ("engineering", "webhook", True), ("product", "webhook", True),
        ("support", "mail", True)]


def test_a_receiver_that_is_down_or_refuses_is_reported_and_the_run_goes_on(tmp_path, servers):
    closed = free_port()
    broken = {"engineering": {"webhook_url": "http://127.0.0.1:%d/%s" % (closed, SECRET_TOKEN)},
              "product": {"webhook_url": "http://127.0.0.1:%d/fail/%s" % (servers["http"], SECRET_TOKEN)},
              "support": {"mail_to": ["support@example.com"]}}
    run = notify(tmp_path, servers, "end", broken, rollback_mail_port=closed)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "NOT SENT" in run.stdout
    for fragment in ("engineering webhook", "product webhook", "support mail"):
        assert fragment in run.stdout, run.stdout
    assert "HTTP 500" in run.stdout
    notices = tmp_path / "report" / "notices"
    sent = json.loads(next(notices.glob("*-sent.json")).read_text())
    assert [s["ok"] for s in sent["sent"]] == [False, False, False]
    text = run.stdout + json.dumps(sent)
    assert SECRET_TOKEN not in text and "support@example.com" not in text
    # The refusing receiver really got the post.
    assert [p["answered"] for p in received(servers)["http"]] == [500]


def test_no_address_url_or_password_in_the_output_at_vvv(tmp_path, servers, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    # A login the receiver (no AUTH) refuses: the mail tasks run with the password and the addresses.
    run = notify(tmp_path, servers, "start", audiences(servers), rollback_mail_username="rollback",
                 rollback_mail_password=PASSWORD)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(received(servers)["http"]) == 2 and received(servers)["mail"] == []
    assert "NOT SENT" in run.stdout and "engineering mail" in run.stdout
    out = run.stdout + run.stderr
    for secret in (SECRET_TOKEN, PASSWORD, "oncall@example.com", "eng-lead@example.com", "support@example.com"):
        assert secret not in out, secret


def test_an_audiences_own_template_relative_to_the_inventory_with_its_subject(tmp_path, servers):
    (tmp_path / "inventory" / "notices").mkdir(parents=True)
    (tmp_path / "inventory" / "notices" / "security.md.j2").write_text(
        "Subject: [sec] {{ communicate_record.rollback_id }} {{ communicate_event }}\n\n"
        "Deployed commit {{ communicate_phases.decide.details.deployed_commit }}.\n")
    own = {"security": {"mail_to": ["sec@example.com"], "events": ["start"],
                        "templates": {"start": "notices/security.md.j2"}},
           "board": {"mail_to": ["board@example.com"], "events": ["end"]}}
    run = notify(tmp_path, servers, "start", own)
    assert run.returncode == 0, run.stdout + run.stderr
    mails = received(servers)["mail"]
    assert [m["rcpt_tos"] for m in mails] == [["sec@example.com"]]  # board takes only the end
    assert mails[0]["subject"] == "[sec] 20261203T100000 start"
    assert mails[0]["body"].strip() == "Deployed commit abc1234def567."


@pytest.mark.parametrize("audiences_value, fragment", [
    ({"support": {"mail_to": "support@example.com"}}, "support: mail_to must be a list of addresses"),
    ({"support": {"mail": ["a@example.com"]}}, "support: unknown key mail"),
    ({"support": None}, "support must be a dict (write support: {}"),
    ({"support": {"webhook_format": "teams"}}, "support: webhook_format must be json or slack"),
    ({"support": {"events": ["begin"]}}, "support: unknown event begin"),
    ({"support": {"templates": {"start": "missing.j2"}}}, "support: no template file"),
    ({"support": {"webhook_url": "hooks.example.com/x"}}, "support: webhook_url must start with http"),
])
def test_bad_audiences_are_refused_with_what_is_wrong(tmp_path, audiences_value, fragment):
    run = notify(tmp_path, None, "start", audiences_value)
    assert run.returncode != 0
    assert fragment in run.stdout, run.stdout
    assert not (tmp_path / "report").exists()


def test_a_template_that_does_not_render_is_reported_and_the_run_goes_on(tmp_path, servers):
    (tmp_path / "inventory").mkdir(parents=True, exist_ok=True)
    (tmp_path / "inventory" / "broken.md.j2").write_text("{{ no_such_variable.at_all }}\n")
    own = {"engineering": {"mail_to": ["oncall@example.com"], "templates": {"end": "broken.md.j2"}}}
    run = notify(tmp_path, servers, "end", own)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING: the 'end' notices of rollback 20261203T100000 were not all written or sent" in run.stdout
    assert "Tell the audiences by hand." in run.stdout
    assert received(servers)["mail"] == []


def test_a_relay_password_without_a_username_is_refused(tmp_path):
    run = notify(tmp_path, None, "start", {"support": {"mail_to": ["support@example.com"]}},
                 rollback_mail_password=PASSWORD)
    assert run.returncode != 0
    assert "rollback_mail_password is set without rollback_mail_username" in run.stdout
    assert PASSWORD not in run.stdout
