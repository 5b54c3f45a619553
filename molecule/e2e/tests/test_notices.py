"""The notices of the e2e rollback, as a real SMTP server and a real HTTP receiver got them
(rb-e2e-notify, molecule/resources/notify/receiver.py), sent from the state host across the docker
network (host_vars/rb-e2e.yml): per audience, at the start (before anything stopped) and at the end;
management's webhook is down, which is reported and does not stop the rollback."""
import json
import os

testinfra_hosts = ["ansible://db"]
ROLLBACK_ID = os.environ.get("RB_E2E_ROLLBACK_ID", "E2E1")
STATE = "/var/lib/runbooks-rollback/%s.json" % ROLLBACK_ID
NOTICES = "/var/lib/runbooks-rollback/%s-report/notices" % ROLLBACK_ID
SUBJECT = "rollback %s " % ROLLBACK_ID


def received(host):
    return json.loads(host.check_output("curl -sf http://rb-e2e-notify:8025/messages"))


def mails_to(host, address):
    return [m for m in received(host)["mail"] if address in m["rcpt_tos"] and SUBJECT in m["subject"]]


def posts_to(host, audience):
    return [p for p in received(host)["http"] if p["path"] == "/hooks/" + audience]


def state(host):
    return json.loads(host.file(STATE).content_string)


def test_engineering_got_a_start_and_an_end_mail_with_the_technical_details(host):
    mails = mails_to(host, "oncall@example.com")
    assert [m["subject"].split(SUBJECT)[1] for m in mails] == ["started", "completed, service restored"], mails
    assert sorted(mails[0]["rcpt_tos"]) == ["eng-lead@example.com", "oncall@example.com"]
    record = state(host)
    start, end = mails
    assert record["phases"]["decide"]["details"]["deployed_commit"] in start["body"]
    assert "STARTED: the site goes into maintenance next." in start["body"]
    code = record["phases"]["code"]["details"]
    assert "%s -> %s" % (code["commit_before"][:12], code["commit_after"][:12]) in end["body"]


def test_the_start_notices_left_before_anything_stopped(host):
    record = state(host)
    start = mails_to(host, "oncall@example.com")[0]
    stop_started = record["phases"]["stop"]["started_at"]
    assert start["received_at"] <= stop_started, (start["received_at"], stop_started)
    decide = record["phases"]["decide"]["details"]["notices"]
    assert decide["event"] == "start" and len(decide["files"]) == 4


def test_each_audience_got_its_own_message_by_its_own_channel(host):
    support = mails_to(host, "support@example.com")
    assert [m["subject"].split(SUBJECT)[1] for m in support] == ["started", "completed, service restored"]
    assert "What to tell users now" in support[0]["body"]
    assert support[0]["body"] != mails_to(host, "oncall@example.com")[0]["body"]
    management = mails_to(host, "cto@example.com")
    assert [m["subject"].split(SUBJECT)[1] for m in management] == ["started", "completed, service restored"]
    assert "- Downtime: " in management[1]["body"] and "- Users active at the decision: " in management[1]["body"]
    engineering = posts_to(host, "engineering")
    assert [(p["json"]["audience"], p["json"]["event"], p["json"]["rollback_id"]) for p in engineering] == [
        ("engineering", "start", ROLLBACK_ID), ("engineering", "end", ROLLBACK_ID)]
    product = posts_to(host, "product")
    assert [set(p["json"]) for p in product] == [{"text"}, {"text"}]  # Slack/Mattermost payload
    assert "We are rolling" in product[0]["json"]["text"] and "runs its previous version again" in product[1]["json"]["text"]


def test_the_receiver_that_is_down_is_reported_and_the_rollback_completed(host):
    record = state(host)
    assert all(phase["status"] == "completed" for phase in record["phases"].values())
    sent = [json.loads(host.file("%s/%s" % (NOTICES, name)).content_string)
            for name in sorted(host.file(NOTICES).listdir()) if name.endswith("-sent.json")]
    assert [s["event"] for s in sent] == ["start", "end"]
    for notice in sent:
        outcome = {(s["audience"], s["channel"]): s for s in notice["sent"]}
        assert outcome[("management", "webhook")]["ok"] is False
        assert "Connection refused" in outcome[("management", "webhook")]["error"]
        assert all(s["ok"] for key, s in outcome.items() if key != ("management", "webhook")), outcome
        assert "<url>" not in json.dumps(notice) or "rb-e2e-notify" not in json.dumps(notice)


def test_every_audiences_notice_is_a_private_file_in_the_report(host):
    names = host.file(NOTICES).listdir()
    for event in ("start", "end"):
        for audience in ("engineering", "product", "support", "management"):
            found = [n for n in names if n.endswith("-%s-%s.md" % (event, audience))]
            assert len(found) == 1, (event, audience, names)
            assert host.file("%s/%s" % (NOTICES, found[0])).mode == 0o600
    assert host.file(NOTICES).mode == 0o700


def test_no_address_or_webhook_url_in_the_state_the_audit_log_or_the_report(host):
    texts = [host.file(STATE).content_string, host.file("/var/lib/runbooks-rollback/audit.jsonl").content_string,
             host.file("/var/lib/runbooks-rollback/%s-report/incident_report.md" % ROLLBACK_ID).content_string]
    for text in texts:
        for secret in ("oncall@example.com", "support@example.com", "cto@example.com", "/hooks/"):
            assert secret not in text, secret
