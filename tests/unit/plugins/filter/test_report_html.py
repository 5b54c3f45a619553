"""The incident report as HTML: the markdown subset, the escaping and the timeline chart, read back
with html.parser; and the real report template rendered by ansible-playbook through the filter."""
import json
import re
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.filter.report_html import (
    PLOT_X0, PLOT_X1, WIDTH, FilterModule, report_html)
from ansible_collections.runbooks.rollback.plugins.filter.timeline import timeline

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def own_text(self):
        """The text of this element without its nested lists (an item's own line)."""
        return "".join(child if isinstance(child, str) else ("" if child.tag == "ul" else child.own_text())
                       for child in self.children).strip()

    def visible_text(self):
        """The element's own text nodes (a <text> without its <title> tooltip)."""
        return "".join(child for child in self.children if isinstance(child, str))

    def elements(self):
        return [child for child in self.children if isinstance(child, Node)]

    def find_all(self, tag=None, cls=None, **attrs):
        found = []
        for child in self.elements():
            if ((tag is None or child.tag == tag) and (cls is None or cls in child.classes)
                    and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())):
                found.append(child)
            found += child.find_all(tag, cls, **attrs)
        return found

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        assert found, "no <%s class=%s %s>" % (tag, cls, attrs)
        return found[0]


class Tree(HTMLParser):
    """The document as a tree of Nodes; a close tag closes up to its element (as browsers do)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})
        self.doctype = None
        self.feed(text)
        self.close()

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, "</%s> closes nothing" % tag
        self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(page):
    tree = Tree(page)
    assert tree.current is tree.root, "unclosed <%s>" % tree.current.tag
    return tree


RECORD = {
    "rollback_id": "R1",
    "order": ["decide", "stop", "database", "code", "recover_data", "start", "verify"],
    "phases": {
        "decide": {"status": "completed", "started_at": "2026-11-24T10:28:40Z", "ended_at": "2026-11-24T10:29:10Z"},
        "stop": {"status": "completed", "started_at": "2026-11-24T10:30:02Z", "ended_at": "2026-11-24T10:30:40Z"},
        "database": {"status": "completed", "started_at": "2026-11-24T10:30:40Z", "ended_at": "2026-11-24T10:36:55Z",
                     "attempts": 2},
        "code": {"status": "completed", "started_at": "2026-11-24T10:36:55Z", "ended_at": "2026-11-24T10:39:05Z"},
        "recover_data": {"status": "failed", "started_at": "2026-11-24T10:39:05Z", "ended_at": "2026-11-24T10:40:12Z",
                         "error": "conflict on <users_pkey> & more"},
        "start": {"status": "started", "started_at": "2026-11-24T10:41:00Z", "ended_at": None},
        "verify": {"status": "reset", "started_at": "2026-11-24T10:41:30Z", "ended_at": "2026-11-24T10:41:31Z"},
    },
}
ROWS = timeline(RECORD)
DOWN = ("2026-11-24T10:30:05Z", "2026-11-24T10:41:20Z")

REPORT = """# Incident report: app rollback R1

- Environment: production
- Symptoms:
  - 500 errors on login
    - only for staff
  - <script>alert(1)</script> in the **Reason**
- Audit trail: `/var/lib/rollback/audit.jsonl`

## Timeline

| Phase | Started (UTC) | Status |
|---|:---:|---:|
| stop | 2026-11-24T10:30:02Z | completed |
| recover_data | 2026-11-24T10:39:05Z | failed: a \\| b <b>x</b> |

Downtime: 11m 15s.

## Data

Plain paragraph with **bold**, `<code> **not bold**`, a [runbook](https://wiki.example.com/runbook?a=1&b=2)
and https://status.example.com/incidents/42. And [bad](javascript:alert(1)).

### Rows lost

## Final rollback checklist

- [x] Decision taken
- [ ] Stakeholders informed
- [-] Search index rebuilt (not part of this rollback)
"""


@pytest.fixture(scope="module")
def page():
    return report_html(REPORT, timeline=ROWS, downtime_start=DOWN[0], downtime_end=DOWN[1])


@pytest.fixture(scope="module")
def doc(page):
    return parse(page).root


def chart_of(doc):
    return doc.find("svg", id="timeline-chart")


def test_the_filter_is_exposed_under_its_name():
    assert FilterModule().filters() == {"report_html": report_html}


def test_a_complete_self_contained_document(page, doc):
    tree = parse(page)
    assert tree.doctype.lower() == "doctype html"
    assert doc.find("html").attrs["lang"] == "en"
    assert doc.find("meta", charset="utf-8")
    assert doc.find("title").text() == "Incident report: app rollback R1"
    assert "#timeline-chart" in doc.find("style").text()
    csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp
    # No script, no stylesheet or image to fetch.
    assert not doc.find_all("script") and not doc.find_all("link") and not doc.find_all("img")
    assert not [n for n in doc.find_all() if "src" in n.attrs or ("href" in n.attrs and n.tag != "a")]


def test_a_title_given_is_the_page_title_escaped():
    doc = parse(report_html("# Report", title="Rollback <R1> & co")).root
    assert doc.find("title").text() == "Rollback <R1> & co"


def test_headings_with_ids_from_their_text(doc):
    main = doc.find("main")
    assert [(h.tag, h.attrs.get("id"), h.text()) for h in main.find_all() if re.match(r"h\d$", h.tag)] == [
        ("h1", "incident-report-app-rollback-r1", "Incident report: app rollback R1"),
        ("h2", "timeline", "Timeline"),
        ("h2", "data", "Data"),
        ("h3", "rows-lost", "Rows lost"),
        ("h2", "final-rollback-checklist", "Final rollback checklist"),
    ]


def test_the_same_heading_twice_gets_two_ids_and_none_is_the_charts():
    doc = parse(report_html("## Data\n\n## Data\n\n## Timeline chart\n", timeline=ROWS)).root
    assert [h.attrs["id"] for h in doc.find_all("h2")] == ["data", "data-2", "timeline-chart-2"]
    assert len(doc.find_all(id="timeline-chart")) == 1


def test_lists_nest_by_two_space_indent(doc):
    top = doc.find("main").find("ul")
    items = top.elements()
    assert [li.own_text() for li in items] == [
        "Environment: production", "Symptoms:", "Audit trail: /var/lib/rollback/audit.jsonl"]
    nested = items[1].find("ul")
    assert nested.parent is items[1]
    assert [li.own_text() for li in nested.elements()] == ["500 errors on login", "<script>alert(1)</script> in the Reason"]
    deeper = nested.elements()[0].find("ul")
    assert [li.own_text() for li in deeper.elements()] == ["only for staff"]
    assert nested.elements()[1].find("strong").text() == "Reason"
    assert items[2].find("code").text() == "/var/lib/rollback/audit.jsonl"


def test_an_item_indented_too_far_is_one_level_down_and_a_dedent_goes_back():
    doc = parse(report_html("- a\n      - b\n  - c\n- d\n")).root
    top = doc.find("ul")
    assert [li.own_text() for li in top.elements()] == ["a", "d"]
    assert [li.own_text() for li in top.elements()[0].find("ul").elements()] == ["b", "c"]


def test_pipe_table_with_header_and_cells(doc):
    table = doc.find("table")
    assert [th.text() for th in table.find("thead").find_all("th")] == ["Phase", "Started (UTC)", "Status"]
    rows = [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
    assert rows == [["stop", "2026-11-24T10:30:02Z", "completed"],
                    ["recover_data", "2026-11-24T10:39:05Z", "failed: a | b <b>x</b>"]]
    assert not table.find_all("b")
    assert [th.attrs.get("style") for th in table.find_all("th")] == [None, "text-align:center", "text-align:right"]
    assert table.find("time").attrs["datetime"] == "2026-11-24T10:30:02Z"


def test_task_list_items_are_disabled_checkboxes(doc):
    section = doc.find("ul", cls="tasks")
    items = section.elements()
    assert [li.classes for li in items] == [["task", "done"], ["task", "todo"], ["task", "na"]]
    boxes = [li.find("input") for li in items]
    assert all(b.attrs["type"] == "checkbox" and "disabled" in b.attrs for b in boxes)
    assert ["checked" in b.attrs for b in boxes] == [True, False, False]
    assert boxes[2].attrs["aria-label"] == "not applicable"
    assert items[2].find("span", cls="na-badge").text() == "n/a"
    assert [li.find("span", cls="task-text").text() for li in items] == [
        "Decision taken", "Stakeholders informed", "Search index rebuilt (not part of this rollback)"]


def test_operator_text_is_escaped_everywhere(page, doc):
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not doc.find_all("script")
    assert "<users_pkey>" not in page and "&lt;users_pkey&gt; &amp; more" in page
    evil = [{"phase": "<img src=x onerror=alert(1)>", "status": '"><script>', "started_at": DOWN[0],
             "ended_at": DOWN[1], "error": "</title><script>x</script>"}]
    doc2 = parse(report_html("# <i>t</i>\n\n## Timeline\n\n| a |\n|---|\n| <script>1</script> |\n",
                             timeline=evil)).root
    assert not doc2.find_all("script") and not doc2.find_all("img") and not doc2.find_all("i")
    assert doc2.find("h1").text() == "<i>t</i>"
    rect = chart_of(doc2).find("rect", cls="bar")
    assert rect.classes == ["bar", "other"]
    assert "</title><script>x</script>" in rect.find("title").text()


def test_text_outside_the_subset_is_kept_as_written():
    line = r"error: C:\tmp\(x) _under_ *one* ~~s~~ <b>b</b> &amp; 1 < 2 ** open"
    doc = parse(report_html("- %s\n\n%s\n" % (line, line))).root
    assert doc.find("li").text() == line
    assert [p.text() for p in doc.find_all("p") if not p.classes] == [line]
    assert not doc.find_all("b") and not doc.find_all("em") and not doc.find_all("strong")


def test_inline_bold_code_and_links(doc):
    para = doc.find("h2", id="data").parent.find_all("p")
    para = [p for p in para if "Plain paragraph" in p.text()][0]
    assert [s.text() for s in para.find_all("strong")] == ["bold"]
    assert [c.text() for c in para.find_all("code")] == ["<code> **not bold**"]
    links = [(a.attrs["href"], a.text()) for a in para.find_all("a")]
    assert links == [("https://wiki.example.com/runbook?a=1&b=2", "runbook"),
                     ("https://status.example.com/incidents/42", "https://status.example.com/incidents/42")]
    # The full stop after the bare URL is text; a javascript: link stays text.
    assert "incidents/42. And [bad](javascript:alert(1))." in para.text()


def test_the_chart_comes_right_after_the_timeline_heading(doc):
    main = doc.find("main").elements()
    tags = [(n.tag, n.attrs.get("id")) for n in main]
    at = tags.index(("h2", "timeline"))
    assert main[at + 1].tag == "figure" and chart_of(main[at + 1])
    assert main[at + 2].find("table")


def test_without_a_timeline_heading_the_chart_comes_after_the_title_or_first():
    main = parse(report_html("# Report\n\ntext\n", timeline=ROWS)).root.find("main").elements()
    assert [n.tag for n in main[:3]] == ["h1", "figure", "p"]
    main = parse(report_html("text only\n", timeline=ROWS)).root.find("main").elements()
    assert [n.tag for n in main] == ["figure", "p"]


def _bars(chart):
    return {b.find("title").text().split(":")[0]: b for b in chart.find_all("rect", cls="bar")}


def _x(rect):
    return float(rect.attrs["x"]), float(rect.attrs["x"]) + float(rect.attrs["width"])


def test_one_bar_per_phase_coloured_by_status_with_a_tooltip(doc):
    chart = chart_of(doc)
    bars = _bars(chart)
    assert list(bars) == [r["phase"] for r in ROWS]
    assert {name: rect.classes for name, rect in bars.items()} == {
        "decide": ["bar", "completed"], "stop": ["bar", "completed"], "database": ["bar", "completed"],
        "code": ["bar", "completed"], "recover_data": ["bar", "failed"], "start": ["bar", "running", "open"],
        "verify": ["bar", "other"]}
    tip = bars["database"].find("title").text()
    assert "database: completed" in tip and "2026-11-24T10:30:40Z to 2026-11-24T10:36:55Z UTC (6m 15s)" in tip
    assert "attempts: 2" in tip
    assert "error: conflict on <users_pkey> & more" in bars["recover_data"].find("title").text()
    assert "no end recorded" in bars["start"].find("title").text()
    # The labels, in the rows' order; the bars in time order, left to right on one axis.
    assert [t.visible_text() for t in chart.find_all("text", cls="label")] == [r["phase"] for r in ROWS]
    starts = [_x(bars[r["phase"]])[0] for r in ROWS]
    assert starts == sorted(starts) and starts[0] == PLOT_X0
    # database ends where code starts.
    assert _x(bars["database"])[1] == pytest.approx(_x(bars["code"])[0])
    # The running phase reaches the last known time (verify's end, the right end of the axis), hatched.
    assert _x(bars["start"])[1] == pytest.approx(PLOT_X1)
    assert chart.find_all("rect", cls="hatch")


def test_the_downtime_band_spans_its_window_across_all_rows(doc):
    chart = chart_of(doc)
    band = chart.find("rect", cls="downtime")
    assert band.classes == ["downtime"]
    bars = _bars(chart)
    x0, x1 = _x(band)
    # From 10:30:05 (after the stop phase started at 10:30:02, before the database phase) to 10:41:20
    # (after start started at 10:41:00, before verify at 10:41:30).
    assert _x(bars["stop"])[0] < x0 < _x(bars["stop"])[1] < _x(bars["database"])[0]
    assert _x(bars["start"])[0] < x1 < _x(bars["verify"])[0]
    assert PLOT_X0 <= x0 < x1 <= PLOT_X1 <= WIDTH
    scale = (PLOT_X1 - PLOT_X0) / ((10 * 3600 + 41 * 60 + 31) - (10 * 3600 + 28 * 60 + 40))  # decide to verify
    assert x1 - x0 == pytest.approx((11 * 60 + 15) * scale, abs=0.02)
    # Over every row.
    ys = [float(b.attrs["y"]) for b in bars.values()]
    assert float(band.attrs["y"]) < min(ys) and float(band.attrs["y"]) + float(band.attrs["height"]) > max(ys) + 18
    assert "11m 15s" in band.find("title").text()
    legend = [t.text() for g in chart.find_all("g", cls="legend") for t in g.find_all("text")]
    assert legend == ["completed", "failed", "running", "other status", "no end yet (to the last known time)",
                      "downtime"]


def test_a_downtime_not_over_reaches_the_last_known_time():
    chart = chart_of(parse(report_html("## Timeline\n", timeline=ROWS, downtime_start=DOWN[0])).root)
    assert _x(chart.find("rect", cls="downtime"))[1] == pytest.approx(PLOT_X1)


def test_without_a_downtime_no_band_and_the_caption_says_so():
    doc = parse(report_html("## Timeline\n", timeline=ROWS)).root
    assert not chart_of(doc).find_all("rect", cls="downtime")
    assert "No downtime window" in doc.find("figcaption").text()
    assert "downtime" not in [t.text() for t in chart_of(doc).find_all("text")]


def test_an_empty_timeline_is_a_note_and_no_chart():
    for rows in ([], None):
        doc = parse(report_html("# R\n\n## Timeline\n\nnothing\n", timeline=rows, downtime_start=DOWN[0])).root
        assert not doc.find_all("svg")
        main = doc.find("main").elements()
        assert [n.tag for n in main] == ["h1", "h2", "p", "p"]
        assert main[2].classes == ["chart-note"] and "No phase" in main[2].text()


def test_a_phase_without_a_start_time_has_its_row_but_no_bar():
    rows = [dict(ROWS[0]), {"phase": "stop", "status": "reset", "started_at": None, "ended_at": None}]
    chart = chart_of(parse(report_html("", timeline=rows)).root)
    assert len(chart.find_all("rect", cls="bar")) == 1
    assert "no start time" in chart.find("text", cls="missing").text()
    doc = parse(report_html("", timeline=rows[1:])).root
    assert not doc.find_all("svg") and "No phase has a start time" in doc.find("p", cls="chart-note").text()


def test_phases_all_in_the_same_second_have_bars_of_some_width():
    rows = [dict(r, started_at="2026-11-24T10:00:00Z", ended_at="2026-11-24T10:00:00Z", status="completed")
            for r in ROWS]
    chart = chart_of(parse(report_html("", timeline=rows, downtime_start="2026-11-24T10:00:00Z",
                                       downtime_end="2026-11-24T10:00:00Z")).root)
    bars = chart.find_all("rect", cls="bar")
    assert len(bars) == len(rows) and all(float(b.attrs["width"]) > 0 for b in bars)
    assert all(PLOT_X0 <= _x(b)[0] < _x(b)[1] <= PLOT_X1 for b in bars)
    assert float(chart.find("rect", cls="downtime").attrs["width"]) > 0
    assert "10:00:00" in [t.text() for t in chart.find_all("text", cls="tick")]


def test_axis_ticks_are_round_utc_times_inside_the_chart(doc):
    chart = chart_of(doc)
    ticks = chart.find_all("text", cls="tick")
    assert [t.text() for t in ticks] == ["10:30:00", "10:35:00", "10:40:00"]
    assert all(PLOT_X0 <= float(t.attrs["x"]) <= PLOT_X1 for t in ticks)
    assert chart.find("text", cls="axis-label").text() == "UTC, 2026-11-24"


@pytest.mark.parametrize("kwargs, message", [
    ({"timeline": "decide"}, "timeline must be the list"),
    ({"timeline": ["decide"]}, r"timeline\[0\] must be a dict"),
    ({"timeline": [{"phase": "stop", "started_at": "yesterday"}]}, r"timeline\[0\].started_at"),
    ({"timeline": ROWS, "downtime_start": "2026-11-24T10:30:05"}, "no time zone"),
    ({"timeline": ROWS, "downtime_start": DOWN[1], "downtime_end": DOWN[0]}, "before downtime_start"),
])
def test_bad_arguments_are_refused_with_what_is_wrong(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        report_html("# R", **kwargs)


def test_the_input_must_be_text():
    with pytest.raises(AnsibleFilterError, match="markdown text"):
        report_html({"not": "markdown"})
    main = parse(report_html(None)).root.find("main").elements()
    assert [n.classes for n in main] == [["chart-note"]]


# ------------------------------------------------------------------------------------------------
# The real template, rendered by Ansible, through the filter as a playbook calls it
# ------------------------------------------------------------------------------------------------

PLAYBOOK = """
- name: The communicate role writes the incident report, as markdown and as HTML
  hosts: localhost
  gather_facts: false
  roles:
    - role: runbooks.rollback.communicate
"""


def test_the_incident_report_template_through_ansible(tmp_path):
    from playbook_runner import ROOT, run_playbook  # pylint: disable=import-outside-toplevel,import-error

    phases = {name: dict(record, details={}) for name, record in RECORD["phases"].items()}
    phases["start"] = dict(phases["start"], status="completed", ended_at="2026-11-24T10:41:20Z")
    phases["stop"]["details"] = {"maintenance_on_at": DOWN[0]}
    phases["decide"]["details"] = {
        "deployed_at": "2026-11-24T09:55:00Z", "hours_since_deployment": 0.6, "window": "A", "window_action": "restore",
        "scenario": 2, "scenario_name": "Data corruption", "recommended_action": "restore the backup",
        "reason": "migration 0042 rewrote <users>", "backup_file": "/var/backups/app.dump",
        "symptoms": [{"description": "500 errors on login", "scenario": 2, "taken_as": "corruption"}]}
    phases["database"]["details"] = {"backup_file": "/var/backups/app.dump", "loss_total": 5,
                                     "loss_counts": {"users": 3, "podcasts": 2}, "export_dir": "/var/lib/rb/export",
                                     "dump_file": "/var/lib/rb/before.dump", "kept_db": "app_pre_rollback_R1"}
    record = dict(RECORD, phases=phases, created_at="2026-11-24T10:28:40Z", updated_at="2026-11-24T10:41:31Z")
    extra = {"communicate_record": record, "communicate_service_name": "app", "communicate_environment": "production",
             "communicate_incident_commander": "Jane <jane@example.com>", "communicate_audit_log": "/var/lib/rb/audit.jsonl",
             "communicate_dir": str(tmp_path / "report"), "communicate_local_dir": "",
             "communicate_affected_users": {"users_affected": 2, "rows_lost": 3, "host": "db1",
                                            "dest": "/var/lib/rb/affected_users.json"}}
    done = run_playbook(tmp_path, PLAYBOOK, extra)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "report" / "incident_report"
    markdown, page = (out.with_suffix(".md").read_text()), out.with_suffix(".html").read_text()
    assert "Please re-register if you signed up recently." in (tmp_path / "report" / "user_notice.md").read_text()
    assert page == report_html(markdown, timeline=timeline(json.loads(json.dumps(record))), downtime_start=DOWN[0],
                               downtime_end="2026-11-24T10:41:20Z", title="app rollback R1")
    doc = parse(page).root
    # The runbook's 9.3 sections, then what the run proved.
    assert [h.attrs["id"] for h in doc.find_all("h2")] == [
        "summary", "timeline", "impact", "root-cause", "resolution", "verification-what-the-run-proved",
        "lessons-learned", "action-items", "final-rollback-checklist"]
    assert doc.find("title").text() == "app rollback R1"
    assert "Users whose data was lost: 2 (3 rows still lost after the re-import" in markdown
    assert len(chart_of(doc).find_all("rect", cls="bar")) == len(RECORD["phases"])
    assert len(doc.find("table").find("tbody").find_all("tr")) == len(RECORD["phases"])
    action_items, tasks = [ul.elements() for ul in doc.find_all("ul", cls="tasks")]
    # The runbook's three action items, unticked; then the final checklist.
    assert [li.own_text().strip() for li in action_items] == [
        "Fix issue that caused rollback", "Improve testing", "Update rollback procedures"]
    assert not any("checked" in li.find("input").attrs for li in action_items)
    assert len(tasks) == len([line for line in markdown.splitlines() if re.match(r"- \[[ x-]\] ", line)]) - 3 == 15
    assert "checked" in tasks[0].find("input").attrs
    assert sum("na" in li.classes for li in tasks) == len([line for line in markdown.splitlines()
                                                           if line.startswith("- [-] ")])
    assert "Jane <jane@example.com>" in doc.find("main").text() and "<jane@example.com>" not in page
    # Symptoms nest under their item, as in the markdown.
    symptoms = [li for li in doc.find("ul").elements() if li.own_text().startswith("Symptoms")][0]
    assert symptoms.find("ul").find("li").own_text().startswith("500 errors on login")


# ------------------------------------------------------------------------------------------------
# What the report says happened, for the records of other layouts and scopes (one playbook renders them all)
# ------------------------------------------------------------------------------------------------

SHA_BAD, SHA_GOOD = "b" * 40, "a" * 40
LIVE_RELEASE, OLD_RELEASE = "/srv/app/releases/20261124093000", "/srv/app/releases/20261120100000"


def _phases(scope, code, build_ahead=None):
    """A completed rollback's phases (the scope's), with the details the playbooks record."""
    names = ["decide"] + (["build_ahead"] if build_ahead is not None else []) + ["stop"] + (
        ["database"] if scope != "code" else []) + ["code"] + (["recover_data"] if scope != "code" else []) + ["start"]
    phases = {}
    for minute, name in enumerate(names):
        phases[name] = {"status": "completed", "started_at": "2026-11-24T10:%02d:00Z" % (30 + minute),
                        "ended_at": "2026-11-24T10:%02d:59Z" % (30 + minute), "details": {}}
    phases["decide"]["details"] = {"deployed_at": "2026-11-24T09:30:00Z", "scope": scope,
                                   "deployed_commit": SHA_BAD, "recommended_action": "roll back"}
    phases["stop"]["details"] = {"maintenance_on_at": "2026-11-24T10:32:10Z"}
    if "database" in phases:
        phases["database"]["details"] = {"backup_file": "/var/backups/app.dump", "loss_total": 0, "loss_counts": {},
                                         "export_dir": "/var/lib/rb/export", "dump_file": "/var/lib/rb/before.dump",
                                         "kept_db": "app_pre_rollback"}
    if build_ahead is not None:
        phases["build_ahead"]["details"] = dict(build_ahead, commit_after=SHA_GOOD, hosts=["app1"])
    phases["code"]["details"] = dict(code, method="reset", target="v1.4.0", commit_before=SHA_BAD,
                                     commit_after=SHA_GOOD, hosts=["app1"])
    return phases


# The code phase records branch: rollback/<id> whatever happened; built_ahead, switched_to and replaced say the switch.
SCENARIOS = {
    # Releases layout, a release of releases/ already held v1.4.0: switched to as it was, no branch made.
    "reused": dict(scope="full", variables={"rollback_build_frontend": False, "rollback_backend": "pip"},
                   phases=_phases("full", {"branch": "rollback/L1", "built_ahead": True, "switched_to": OLD_RELEASE,
                                           "replaced": LIVE_RELEASE},
                                  {"layout": "releases", "release": OLD_RELEASE, "reused": True})),
    # Releases layout, a release made for the rollback (a copy of the live one, rolled back there on its branch).
    "made": dict(scope="full", variables={"rollback_build_frontend": True, "rollback_backend": "poetry"},
                 phases=_phases("full", {"branch": "rollback/L2", "built_ahead": True,
                                         "switched_to": "/srv/app/releases/20261124103500", "replaced": LIVE_RELEASE},
                                {"layout": "releases", "release": "/srv/app/releases/20261124103500",
                                 "reused": False})),
    # Code only, rolled back and rebuilt in the live checkout (rollback_build_ahead=false), no backend to install.
    "code_only": dict(scope="code", variables={"rollback_build_frontend": True, "rollback_backend": "none"},
                      phases=_phases("code", {"branch": "rollback/L3", "built_ahead": False, "switched_to": None,
                                              "replaced": None})),
}

SCENARIO_PLAYBOOK = """
- name: The communicate role writes the incident report of each record
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write the report of {{ scenario.key }}
      ansible.builtin.include_role:
        name: runbooks.rollback.communicate
      vars:
        communicate_record: "{{ scenario.value.record }}"
        communicate_dir: "{{ scenario.value.dir }}"
        communicate_local_dir: ""
        rollback_build_frontend: "{{ scenario.value.variables.rollback_build_frontend }}"
        rollback_backend: "{{ scenario.value.variables.rollback_backend }}"
      loop: "{{ scenarios | dict2items }}"
      loop_control:
        loop_var: scenario
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The markdown report of each of SCENARIOS, by name."""
    from playbook_runner import run_playbook  # pylint: disable=import-outside-toplevel,import-error

    tmp_path = tmp_path_factory.mktemp("scenarios")
    scenarios = {}
    for name, scenario in SCENARIOS.items():
        record = {"rollback_id": "L-" + name, "order": list(scenario["phases"]), "phases": scenario["phases"],
                  "created_at": "2026-11-24T10:30:00Z", "updated_at": "2026-11-24T10:40:00Z"}
        scenarios[name] = {"record": record, "dir": str(tmp_path / name), "variables": scenario["variables"]}
    done = run_playbook(tmp_path, SCENARIO_PLAYBOOK, {"scenarios": scenarios})
    assert done.returncode == 0, done.stdout + done.stderr
    return {name: (tmp_path / name / "incident_report.md").read_text() for name in SCENARIOS}


def _section(markdown, heading):
    """The lines of one section (## or ###) of the markdown, up to the next heading."""
    lines = markdown.splitlines()
    at = lines.index(heading)
    end = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return [line for line in lines[at + 1:end] if line.strip()]


def _item(lines, prefix):
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, (prefix, lines)
    return found[0]


def test_a_reused_release_is_named_with_its_layout_and_commit_and_no_branch(reports):
    code = _section(reports["reused"], "### Code")
    assert not [line for line in code if "branch" in line and "no branch made" not in line], code
    assert _item(code, "- Method: ") == (
        "- Method: switched to the release %s (releases layout), which already held v1.4.0: used as it was, "
        "no reset or revert in it, no branch made" % OLD_RELEASE)
    assert _item(code, "- Switched: ") == (
        "- Switched: the live symlink points at %s (%s); it pointed at %s" % (OLD_RELEASE, SHA_GOOD[:12], LIVE_RELEASE))
    assert _item(code, "- Commit after: ") == "- Commit after: " + SHA_GOOD


def test_a_release_made_for_the_rollback_names_the_branch_made_in_it(reports):
    code = _section(reports["made"], "### Code")
    assert _item(code, "- Method: ") == (
        "- Method: built ahead (releases layout) in /srv/app/releases/20261124103500, made for this rollback "
        "(a copy of the live release): reset to v1.4.0 there on branch rollback/L2, then switched to")
    assert _item(code, "- Switched: ").startswith("- Switched: the live symlink points at /srv/app/releases/20261124103500")


def test_a_rollback_in_the_live_checkout_names_its_branch_and_no_switch(reports):
    code = _section(reports["code_only"], "### Code")
    assert _item(code, "- Method: ") == (
        "- Method: reset to v1.4.0 in the live checkout on branch rollback/L3, rebuilt in place")
    assert not [line for line in code if "Switched" in line]


def _build_line(markdown):
    """The checklist's line of the build (it ends with Django's checks)."""
    found = [line for line in _section(markdown, "## Final rollback checklist") if "Django checks pass" in line]
    assert len(found) == 1, found
    return found[0]


def test_the_checklist_names_only_the_build_that_ran(reports):
    # rollback_build_frontend false, rollback_backend pip.
    assert _build_line(reports["reused"]) == "- [x] Backend installed (pip), static collected, Django checks pass"
    assert "Frontend" not in reports["reused"]
    assert _build_line(reports["made"]) == (
        "- [x] Frontend built, backend installed (poetry), static collected, Django checks pass")
    # rollback_backend none: nothing installed.
    assert _build_line(reports["code_only"]) == "- [x] Frontend built, static collected, Django checks pass"


RELOGIN = ("- Logins: everyone who logged in since the deployment (2026-11-24T09:30:00Z) is logged out and has to log in "
           "again: the restore brought back the backup's django_session table")


def test_the_impact_says_who_logs_in_again_only_when_the_database_was_restored(reports):
    assert RELOGIN in _section(reports["reused"], "## Impact")
    assert RELOGIN in _section(reports["made"], "## Impact")
    # Code only (scope code): the sessions are the ones the database holds.
    assert not [line for line in reports["code_only"].splitlines() if "log in again" in line or "django_session" in line]
