"""AWX as code: the surveys ask what the playbooks need, with the types and choices of the
operator argument spec; the job templates and the workflow point at what exists; the
configuration playbook passes a syntax check; ansible-builder writes a build context."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.runbooks.rollback.plugins.module_utils.decision import RUNBOOK_SYMPTOMS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# Spec type -> survey types that can carry it.
COMPATIBLE = {"str": {"text", "textarea", "password", "multiplechoice"}, "path": {"text"},
              "int": {"integer"}, "float": {"float"}, "bool": {"multiplechoice"},
              "list": {"multiselect", "textarea"}}


def load_yaml(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def survey(name):
    with open(os.path.join(ROOT, "awx", "surveys", name), encoding="utf-8") as handle:
        return json.load(handle)


SPEC = load_yaml("playbooks", "vars", "operator_variables.yml")["operator_variables_spec"]
TEMPLATES = load_yaml("awx", "templates.yml")
SURVEYS = sorted(os.listdir(os.path.join(ROOT, "awx", "surveys")))


def env():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".work", "collections"), NO_COLOR="1",
                PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


@pytest.mark.parametrize("name", SURVEYS)
def test_each_survey_is_a_valid_awx_survey_of_operator_variables(name):
    data = survey(name)
    assert data["name"] and data["description"] and data["spec"]
    seen = set()
    for question in data["spec"]:
        variable = question["variable"]
        assert variable not in seen, "asked twice: %s" % variable
        seen.add(variable)
        assert question["question_name"] and question["type"] in SURVEY_TYPES, question
        assert isinstance(question["required"], bool)
        assert variable in SPEC, "%s asks %s, which no playbook reads" % (name, variable)
        expected = SPEC[variable]
        assert question["type"] in COMPATIBLE[expected["type"]], (variable, question["type"], expected)
        if question["type"] == "multiplechoice":
            choices = question["choices"]
            assert question["default"] in choices + [""], (variable, question["default"])
            if expected["type"] == "bool":
                assert sorted(choices) == ["false", "true"], variable
            elif "choices" in expected:
                assert sorted(choices) == sorted(expected["choices"]), (variable, choices, expected["choices"])
        if question["type"] in ("text", "textarea", "password"):
            assert 0 <= question["min"] <= question["max"]
            assert question["min"] <= len(question["default"]) <= question["max"] or not question["default"]
        if expected.get("required"):
            assert question["required"], "%s must be required in %s" % (variable, name)


@pytest.mark.parametrize("playbook, needs", [
    ("playbooks/rollback.yml", {"rollback_deployed_at", "rollback_scenario", "rollback_code_target",
                                "rollback_backup_file", "rollback_confirm", "rollback_override",
                                "rollback_override_reason"}),
    ("playbooks/rollback_db_only.yml", {"rollback_deployed_at", "rollback_scenario", "rollback_backup_file",
                                        "rollback_confirm", "rollback_override", "rollback_override_reason"}),
    ("playbooks/rollback_code_only.yml", {"rollback_deployed_at", "rollback_scenario", "rollback_code_target",
                                          "rollback_confirm", "rollback_override", "rollback_override_reason"}),
])
def test_each_rollback_template_asks_what_its_playbook_needs(playbook, needs):
    templates = [t for t in TEMPLATES["awx_job_templates"] if t["playbook"] == playbook]
    assert len(templates) == 1, playbook
    asked = {q["variable"] for q in survey(templates[0]["survey"])["spec"]}
    assert needs <= asked, "missing from %s: %s" % (templates[0]["survey"], sorted(needs - asked))
    required = {q["variable"] for q in survey(templates[0]["survey"])["spec"] if q["required"]}
    assert "rollback_deployed_at" in required
    assert {"rollback_scenario", "rollback_symptoms"} <= asked and not {"rollback_scenario", "rollback_symptoms"} & required, \
        "either a scenario or the symptoms: neither may be required"


@pytest.mark.parametrize("name", [n for n in SURVEYS if "rollback_scenario" in {q["variable"] for q in survey(n)["spec"]}])
def test_the_symptoms_offered_are_the_runbooks(name):
    questions = {q["variable"]: q for q in survey(name)["spec"]}
    symptoms = questions["rollback_symptoms"]
    assert symptoms["type"] == "multiselect"
    assert symptoms["choices"] == list(RUNBOOK_SYMPTOMS)
    for number, words in RUNBOOK_SYMPTOMS.values():
        assert "%s = scenario %d" % (words, number) in symptoms["question_description"]
    # An empty scenario is what lets the symptoms decide (the decision role passes one or the other).
    assert questions["rollback_scenario"]["default"] == ""


def test_every_playbook_has_a_job_template_and_every_template_a_playbook_and_survey():
    playbooks = {"playbooks/" + f for f in os.listdir(os.path.join(ROOT, "playbooks")) if f.endswith(".yml")}
    templated = {t["playbook"] for t in TEMPLATES["awx_job_templates"]}
    assert templated == playbooks
    for template in TEMPLATES["awx_job_templates"]:
        assert template["survey"] in SURVEYS, template


def test_phase_templates_need_the_rollback_id_and_the_workflow_does_not_ask_it():
    for template in TEMPLATES["awx_job_templates"]:
        if template["survey"] == "phase.json":
            assert {q["variable"]: q["required"] for q in survey("phase.json")["spec"]}["rollback_id"] is True
    workflow = TEMPLATES["awx_workflow"]
    # The decide node publishes the id (set_stats); a workflow variable would override it.
    assert "rollback_id" not in {q["variable"] for q in survey(workflow["survey"])["spec"]}


def test_the_workflow_runs_the_phases_in_order_with_an_approval_before_each_destructive_one():
    workflow = TEMPLATES["awx_workflow"]
    nodes = {node["identifier"]: node for node in workflow["nodes"]}
    names = {t["name"]: t["playbook"] for t in TEMPLATES["awx_job_templates"]}
    order, current = [], "decide"
    while current:
        order.append(current)
        following = nodes[current].get("success", [])
        assert len(following) <= 1
        current = following[0] if following else None
    playbooks = [names[nodes[n]["job_template"]["name"]] for n in order if "job_template" in nodes[n]]
    rollback = load_yaml("playbooks", "rollback.yml")
    assert playbooks == ["playbooks/" + step["ansible.builtin.import_playbook"] for step in rollback]
    for destructive in ("stop", "database", "code"):
        assert order[order.index(destructive) - 1] == "approve_" + destructive
        assert "approval" in nodes["approve_" + destructive]
    for name in order[1:-1]:
        assert nodes[name].get("failure") == ["report_after_failure"], name
    assert names[nodes["report_after_failure"]["job_template"]["name"]] == "playbooks/report.yml"


@pytest.mark.parametrize("playbook, keys", [
    ("decide.yml", {"rollback_id", "rollback_decision"}),
    ("database.yml", {"rollback_data_loss", "rollback_data_loss_total", "rollback_export_dir", "rollback_dump_file"}),
    ("report.yml", {"rollback_id", "rollback_timeline", "rollback_report_path"}),
])
def test_playbooks_publish_their_results_with_set_stats(playbook, keys):
    def tasks(items):
        for item in items or []:
            yield item
            for section in ("block", "rescue", "always"):
                yield from tasks(item.get(section))

    published = set()
    for play in load_yaml("playbooks", playbook):
        for task in tasks(play.get("tasks")):
            if "ansible.builtin.set_stats" in task:
                assert task["ansible.builtin.set_stats"]["per_host"] is False
                published |= set(task["ansible.builtin.set_stats"]["data"])
    assert keys <= published


def test_the_configuration_playbook_passes_the_syntax_check():
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "awx/configure.yml"], cwd=ROOT,
                         env=env(), capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ansible_builder_writes_a_build_context_with_the_collection(tmp_path):
    built = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "check_build.py")], cwd=ROOT, env=env(),
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    version = load_yaml("galaxy.yml")["version"]
    run = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml",
                          "-c", str(tmp_path / "context")], cwd=ROOT, env=env(), capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    context = tmp_path / "context"
    containerfile = (context / "Dockerfile").read_text() if (context / "Dockerfile").exists() \
        else (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert (context / "_build" / "collections" / ("runbooks-rollback-%s.tar.gz" % version)).stat().st_size > 0
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    names = [c["name"] for c in requirements["collections"]]
    assert "/build/collections/runbooks-rollback-%s.tar.gz" % version in names
    assert {"community.general", "community.postgresql"} <= set(names)
    assert "psycopg2" in (context / "_build" / "requirements.txt").read_text()


def awx_launch_defaults(spec):
    """The extra variables AWX adds for the questions a launch leaves unanswered: each question's
    default, when it passes the question's own validation (awx/main/models/mixins.py,
    SurveyJobTemplateMixin._update_unified_job_kwargs and _survey_element_validation): a text
    default within min/max is sent, even ''; a multiple-choice default that is not a choice is not."""
    sent = {}
    for question in spec["spec"]:
        default = question.get("default")
        if default is None:
            continue
        if question["type"] in ("text", "textarea", "password"):
            low, high = question.get("min"), question.get("max")
            if isinstance(default, str) and (low in ("", None) or len(default) >= int(low)) \
                    and (high in ("", None) or len(default) <= int(high)):
                sent[question["variable"]] = default
        elif question["type"] == "multiplechoice":
            if default in question["choices"]:
                sent[question["variable"]] = default
        elif question["type"] == "multiselect":
            if isinstance(default, list) and all(value in question["choices"] for value in default):
                sent[question["variable"]] = default
        else:
            sent[question["variable"]] = default
    return sent


def test_the_awx_emulation_sends_what_awx_sends():
    spec = {"spec": [
        {"variable": "a", "type": "text", "default": "", "min": 0, "max": 10},
        {"variable": "b", "type": "text", "default": "", "min": 5, "max": 10},
        {"variable": "c", "type": "multiplechoice", "default": "", "choices": ["x", "y"]},
        {"variable": "d", "type": "multiplechoice", "default": "y", "choices": ["x", "y"]},
        {"variable": "e", "type": "text"}]}
    assert awx_launch_defaults(spec) == {"a": "", "d": "y"}


@pytest.mark.parametrize("name", SURVEYS)
def test_a_survey_left_blank_sends_nothing_the_inventory_sets(name):
    # An extra variable beats the inventory: a choice left blank must not be sent, or the inventory's
    # rollback_on_failure (inventories/staging: restore_services) is silently overridden.
    sent = awx_launch_defaults(survey(name))
    defaults = load_yaml("roles", "rollback", "defaults", "main.yml")
    for variable, value in sent.items():
        # Only a blank text, and only where blank is what the collection means by "not given".
        assert value == "" and defaults.get(variable, "") in ("", []), (name, variable, value)
    for variable in ("rollback_on_failure", "rollback_migration_policy", "rollback_celery_queue_policy",
                     "rollback_code_method", "rollback_override"):
        assert variable not in sent, (name, variable)
