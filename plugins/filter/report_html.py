# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident report as one self-contained HTML page, with the timeline drawn as a chart."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: report_html
short_description: The incident report (markdown) as a self-contained HTML page with a timeline chart
version_added: 0.3.0
description:
  - Takes the markdown of the incident report and returns a complete HTML5 document with the same
    content, readable in a browser - inline CSS, no external resources and no JavaScript (a content
    security policy forbids both), so the file can be mailed or attached to a ticket as it is.
  - The markdown is converted for the subset the report templates write - C(#), C(##) and C(###)
    headings (each with an C(id) made from its text, C(## Timeline) is C(id="timeline")), paragraphs,
    C(- ) lists nested by two-space indents, task list items C(- [ ]), C(- [x]) and C(- [-]) (not
    applicable) as disabled checkboxes, pipe tables with a header separator row, C(**bold**),
    C(`code`), links C([text](url)) and bare http(s) URLs. Everything else is text, HTML-escaped, since the
    report holds operator-provided strings and error messages.
  - The timeline is drawn as an inline SVG Gantt chart (C(id="timeline-chart")) right after the
    C(## Timeline) heading (else after the title) - one row per phase with a bar from its start to its
    end (class C(bar completed), C(bar failed), C(bar running) or C(bar other); a phase without an end
    is drawn hatched to the last known time and has the class C(open) too), a shaded band
    (class C(downtime)) across all rows for the downtime window, time-axis ticks in UTC and a legend.
    Each bar's C(title) (its tooltip) gives the phase, its times, duration, status, attempts and error.
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The markdown of the report (what C(incident_report.md.j2) renders).
    type: str
    required: true
  timeline:
    description:
      - The rows of the P(runbooks.rollback.timeline#filter) filter (C(phase), C(status), C(started_at),
        C(ended_at), C(duration), C(attempts), C(error)).
      - Status C(started) (or C(running)) is drawn as running. Empty or omitted, the chart is a short note.
    type: list
    elements: dict
    default: []
  downtime_start:
    description: When the site went down (the maintenance page on), ISO 8601 with a zone or epoch seconds.
    type: str
  downtime_end:
    description:
      - When the site was started again. Omitted while C(downtime_start) is given, the band reaches the
        last known time (the site is still down).
    type: str
  title:
    description: The page's C(title); by default the text of the report's C(#) heading.
    type: str
'''

EXAMPLES = r'''
- name: Write the incident report as HTML next to the markdown
  ansible.builtin.copy:
    dest: "{{ communicate_dir }}/incident_report.html"
    mode: "0600"
    content: >-
      {{ lookup('ansible.builtin.template', 'incident_report.md.j2')
         | runbooks.rollback.report_html(timeline=communicate_timeline,
                                          downtime_start=communicate_downtime_window.start,
                                          downtime_end=communicate_downtime_window.end) }}
'''

RETURN = r'''
_value:
  description: The HTML document (UTF-8 text, starting with C(<!DOCTYPE html>)).
  type: str
'''

import datetime
import html
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.filter.duration import duration
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import TimestampError, parse_timestamp

CHART_ID = "timeline-chart"

# ---------------------------------------------------------------------------------------------
# Markdown (the subset the report templates write)
# ---------------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_LIST_ITEM = re.compile(r"^( *)[-*][ \t]+(.*)$")
_TASK = re.compile(r"^\[([ xX-])\](?:[ \t]+(.*))?$")
_TABLE_SEP = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_INLINE = re.compile(
    r"(?P<ticks>`+)(?P<code>.+?)(?P=ticks)"
    r"|\[(?P<link_text>[^\]\n]+)\]\((?P<link_url>[^)\s]+)\)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?P<url>\bhttps?://[^\s<>\"'`]+)"
    r"|(?P<time>\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)"
)
_SAFE_URL = re.compile(r"^(?:https?://|mailto:|#|/|\./|\.\./|[^:/?#]+(?:[/?#]|$))", re.IGNORECASE)


def _esc(text):
    return html.escape(text, quote=True)


def _split_url_tail(url):
    """A bare URL without the punctuation that ends the sentence around it."""
    tail = ""
    while url and (url[-1] in ".,;:!?" or (url[-1] == ")" and url.count("(") < url.count(")"))):
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def _inline(text, links=True):
    """Inline markdown of one piece of text as HTML; anything not understood is escaped text."""
    out, pos = [], 0
    for match in _INLINE.finditer(text):
        if not links and (match.group("link_text") is not None or match.group("url") is not None):
            continue
        out.append(_esc(text[pos:match.start()]))
        pos = match.end()
        if match.group("ticks") is not None:
            code = match.group("code")
            if len(code) > 1 and code.startswith(" ") and code.endswith(" "):
                code = code[1:-1]
            out.append("<code>%s</code>" % _esc(code))
        elif match.group("link_text") is not None:
            url = match.group("link_url")
            if _SAFE_URL.match(url):
                out.append('<a href="%s">%s</a>' % (_esc(url), _inline(match.group("link_text"), links=False)))
            else:  # javascript: and the like stay text
                out.append(_esc(match.group(0)))
        elif match.group("bold") is not None:
            out.append("<strong>%s</strong>" % _inline(match.group("bold"), links=links))
        elif match.group("time") is not None:  # kept on one line in the table's narrow columns
            out.append('<time datetime="%s">%s</time>' % (_esc(match.group("time")), _esc(match.group("time"))))
        else:
            url, tail = _split_url_tail(match.group("url"))
            out.append('<a href="%s">%s</a>%s' % (_esc(url), _esc(url), _esc(tail)))
    out.append(_esc(text[pos:]))
    return "".join(out)


def _plain(text):
    """The text of a heading without its markdown marks (for ids and the page title)."""
    return re.sub(r"\*\*|`", "", text).strip()


def _slug(text, used):
    base = re.sub(r"[^\w]+", "-", _plain(text).lower()).strip("-_") or "section"
    slug, number = base, 2
    while slug in used:
        slug, number = "%s-%d" % (base, number), number + 1
    used.add(slug)
    return slug


def _cells(line):
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]


def _table(lines):
    header, aligns = _cells(lines[0]), []
    for spec in _cells(lines[1]):
        aligns.append("center" if spec.startswith(":") and spec.endswith(":")
                      else "right" if spec.endswith(":") else "left" if spec.startswith(":") else None)
    aligns = (aligns + [None] * len(header))[:len(header)]

    def row(cells, tag):
        cells = (cells + [""] * len(header))[:len(header)]
        return "<tr>%s</tr>" % "".join(
            "<%s%s>%s</%s>" % (tag, ' style="text-align:%s"' % align if align else "", _inline(cell), tag)
            for cell, align in zip(cells, aligns))

    body = "\n".join(row(_cells(line), "td") for line in lines[2:])
    return ('<div class="table-wrap"><table>\n<thead>%s</thead>\n<tbody>\n%s\n</tbody>\n</table></div>'
            % (row(header, "th"), body))


def _list(items):
    """Nested <ul> from (indent, text) items: two spaces of indent are one level."""
    root = {"depth": -1, "children": []}
    stack = [root]
    for indent, text in items:
        depth = indent // 2
        while stack[-1]["depth"] >= depth:
            stack.pop()
        parent = stack[-1]
        node = {"depth": min(depth, parent["depth"] + 1), "text": text, "children": []}
        parent["children"].append(node)
        stack.append(node)

    def render(nodes):
        parts, tasks = [], False
        for node in nodes:
            task = _TASK.match(node["text"])
            if task:
                tasks = True
                mark, text = task.group(1), task.group(2) or ""
                kind = {"x": "done", "X": "done", "-": "na"}.get(mark, "todo")
                box = '<input type="checkbox" disabled%s%s>' % (
                    " checked" if kind == "done" else "",
                    ' aria-label="not applicable"' if kind == "na" else "")
                badge = ' <span class="na-badge">n/a</span>' if kind == "na" else ""
                body = '<li class="task %s">%s <span class="task-text">%s</span>%s' % (kind, box, _inline(text), badge)
            else:
                body = "<li>%s" % _inline(node["text"])
            if node["children"]:
                body += "\n" + render(node["children"])
            parts.append(body + "</li>")
        return '<ul%s>\n%s\n</ul>' % (' class="tasks"' if tasks else "", "\n".join(parts))

    return render(root["children"])


def markdown_blocks(text):
    """The report's markdown as a list of (kind, html, extra) blocks; kind is h1..h6 (extra: the
    heading's plain text), p, ul or table."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    blocks, para, used, i = [], [], {CHART_ID}, 0

    def flush():
        if para:
            blocks.append(("p", "<p>%s</p>" % "\n".join(_inline(line) for line in para), None))
            del para[:]

    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            flush()
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level, content = len(heading.group(1)), heading.group(2)
            blocks.append(("h%d" % level, '<h%d id="%s">%s</h%d>' % (level, _slug(content, used), _inline(content), level),
                           _plain(content)))
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            flush()
            rows = [line, lines[i + 1]]
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i].rstrip())
                i += 1
            blocks.append(("table", _table(rows), None))
            continue
        if _LIST_ITEM.match(line):
            flush()
            items = []
            while i < len(lines) and lines[i].strip():
                current = lines[i].rstrip()
                item = _LIST_ITEM.match(current)
                if item:
                    items.append((len(item.group(1)), item.group(2).strip()))
                elif current.startswith(" ") and not _HEADING.match(current.lstrip()):
                    # An indented line under an item continues it.
                    items[-1] = (items[-1][0], items[-1][1] + " " + current.strip())
                else:
                    break
                i += 1
            blocks.append(("ul", _list(items), None))
            continue
        para.append(line.strip())
        i += 1
    flush()
    return blocks


# ---------------------------------------------------------------------------------------------
# The timeline chart (inline SVG)
# ---------------------------------------------------------------------------------------------

WIDTH = 960
PLOT_X0 = 190
PLOT_X1 = WIDTH - 24
TOP = 12
ROW_H = 28
BAR_H = 18
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
STATUS_CLASSES = {"completed": "completed", "failed": "failed", "started": "running", "running": "running"}
LEGEND = (("completed", "completed"), ("failed", "failed"), ("running", "running"), ("other", "other status"))


def _stamp(value, name):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        value = value.isoformat() if value.tzinfo else value.isoformat() + "+00:00"
    try:
        return parse_timestamp(value, name)
    except TimestampError as e:
        raise AnsibleFilterError("report_html: %s" % e)


def _hms(moment):
    return moment.strftime("%H:%M:%S")


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")


def _ticks(t0, t1):
    """Round times between t0 and t1 (epoch seconds) for the axis, at most about seven."""
    span = t1 - t0
    step = next((s for s in TICK_STEPS if span / s <= 6), None) or int(-(-span // 6))
    first = int(-(-t0 // step)) * step
    return list(range(first, int(t1) + 1, step))


def _phases(timeline):
    if timeline is None:
        return []
    if not isinstance(timeline, (list, tuple)):
        raise AnsibleFilterError("report_html: timeline must be the list of the runbooks.rollback.timeline filter, "
                                 "got %r" % (type(timeline).__name__,))
    phases = []
    for number, row in enumerate(timeline):
        if not isinstance(row, dict):
            raise AnsibleFilterError("report_html: timeline[%d] must be a dict (a row of runbooks.rollback.timeline), "
                                     "got %r" % (number, type(row).__name__))
        phases.append({"phase": str(row.get("phase") or "?"), "status": str(row.get("status") or "unknown"),
                       "category": STATUS_CLASSES.get(str(row.get("status")), "other"),
                       "start": _stamp(row.get("started_at"), "timeline[%d].started_at" % number),
                       "end": _stamp(row.get("ended_at"), "timeline[%d].ended_at" % number),
                       "attempts": row.get("attempts"), "error": row.get("error")})
    return phases


def _tooltip(phase, last):
    parts = ["%s: %s" % (phase["phase"], phase["status"])]
    if phase["end"] is not None:
        seconds = (phase["end"] - phase["start"]).total_seconds()
        parts.append("%s to %s UTC (%s)" % (_iso(phase["start"]), _iso(phase["end"]), duration(seconds)))
    else:
        parts.append("since %s UTC, no end recorded (drawn to %s)" % (_iso(phase["start"]), _hms(last)))
    if phase["attempts"] not in (None, 1, "1"):
        parts.append("attempts: %s" % phase["attempts"])
    if phase["error"]:
        parts.append("error: %s" % phase["error"])
    return "\n".join(parts)


def timeline_chart(timeline, downtime_start=None, downtime_end=None):
    """The figure with the SVG Gantt chart of the timeline rows (or a note when there is nothing to draw)."""
    phases = _phases(timeline)
    down0, down1 = _stamp(downtime_start, "downtime_start"), _stamp(downtime_end, "downtime_end")
    if down0 is not None and down1 is not None and down1 < down0:
        raise AnsibleFilterError("report_html: downtime_end %s is before downtime_start %s" % (_iso(down1), _iso(down0)))
    started = [p for p in phases if p["start"] is not None]
    if not started:
        note = "No phase has been recorded yet: there is no timeline to draw." if not phases else \
            "No phase has a start time yet: there is no timeline to draw."
        return '<p class="chart-note">%s</p>' % note
    known = [p["start"] for p in started] + [p["end"] for p in started if p["end"] is not None]
    known += [t for t in (down0, down1) if t is not None]
    first, last = min(known), max(known)
    t0, t1 = first.timestamp(), last.timestamp()
    if t1 - t0 < 1:  # everything within one second: a one-second axis, not a division by zero
        t1 = t0 + 1

    def x(moment):
        return PLOT_X0 + (moment.timestamp() - t0) / (t1 - t0) * (PLOT_X1 - PLOT_X0)

    rows_h = len(phases) * ROW_H
    axis_y = TOP + rows_h + 4
    legend_y = axis_y + 42
    height = legend_y + 22
    svg = ['<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'role="img" aria-labelledby="%s-title">' % (CHART_ID, WIDTH, height, WIDTH, height, CHART_ID),
           '<title id="%s-title">Timeline of the rollback: one bar per phase, %s to %s UTC</title>'
           % (CHART_ID, _hms(first), _hms(last)),
           '<defs><pattern id="%s-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="3" height="6" fill="#ffffff" fill-opacity="0.55"/>'
           '</pattern></defs>' % CHART_ID]
    # Row stripes and the ticks' grid first, the downtime band over them, the bars on top.
    for number in range(len(phases)):
        if number % 2:
            svg.append('<rect class="stripe" x="0" y="%d" width="%d" height="%d"/>' % (TOP + number * ROW_H, WIDTH, ROW_H))
    ticks = _ticks(t0, t1)
    for tick in ticks:
        tx = PLOT_X0 + (tick - t0) / (t1 - t0) * (PLOT_X1 - PLOT_X0)
        moment = datetime.datetime.fromtimestamp(tick, tz=datetime.timezone.utc)
        svg.append('<line class="grid" x1="%s" y1="%d" x2="%s" y2="%d"/>' % (_num(tx), TOP, _num(tx), axis_y))
        svg.append('<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>' % (_num(tx), axis_y + 16, _hms(moment)))
    svg.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (PLOT_X0, axis_y, PLOT_X1, axis_y))
    days = sorted({first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")})
    svg.append('<text class="axis-label" x="%d" y="%d" text-anchor="end">UTC, %s</text>'
               % (PLOT_X1, axis_y + 32, " to ".join(days)))
    if down0 is not None:
        end = down1 if down1 is not None else last
        dx0, dx1 = x(down0), max(x(end), x(down0) + 2)
        label = ("Downtime: %s to %s UTC (%s)" % (_iso(down0), _iso(down1), duration((down1 - down0).total_seconds()))
                 if down1 is not None else "Downtime: since %s UTC, not over at the last recorded time" % _iso(down0))
        svg.append('<rect class="downtime" x="%s" y="%d" width="%s" height="%d"><title>%s</title></rect>'
                   % (_num(dx0), TOP - 4, _num(dx1 - dx0), rows_h + 8, _esc(label)))
    for number, phase in enumerate(phases):
        y = TOP + number * ROW_H
        mid = y + ROW_H / 2
        name = phase["phase"] if len(phase["phase"]) <= 24 else phase["phase"][:23] + "\u2026"
        svg.append('<text class="label" x="8" y="%s" dominant-baseline="middle"><title>%s</title>%s</text>'
                   % (_num(mid), _esc(phase["phase"]), _esc(name)))
        if phase["start"] is None:
            svg.append('<text class="missing" x="%d" y="%s" dominant-baseline="middle">no start time recorded</text>'
                       % (PLOT_X0, _num(mid)))
            continue
        is_open = phase["end"] is None
        bx0, bx1 = x(phase["start"]), x(last if is_open else phase["end"])
        width = max(bx1 - bx0, 3)
        bx0 = min(bx0, PLOT_X1 - width)
        classes = "bar %s%s" % (phase["category"], " open" if is_open else "")
        bar_y = y + (ROW_H - BAR_H) / 2
        svg.append('<rect class="%s" x="%s" y="%s" width="%s" height="%d" rx="2"><title>%s</title></rect>'
                   % (classes, _num(bx0), _num(bar_y), _num(width), BAR_H, _esc(_tooltip(phase, last))))
        if is_open:
            svg.append('<rect class="hatch" x="%s" y="%s" width="%s" height="%d" fill="url(#%s-hatch)"/>'
                       % (_num(bx0), _num(bar_y), _num(width), BAR_H, CHART_ID))
        text = duration((phase["end"] - phase["start"]).total_seconds()) if not is_open else "running"
        text_w = 7 * len(text)
        if bx0 + width + 8 + text_w <= PLOT_X1:  # after the bar
            svg.append('<text class="dur" x="%s" y="%s" dominant-baseline="middle">%s</text>'
                       % (_num(bx0 + width + 5), _num(mid), _esc(text)))
        elif width >= text_w + 10:  # inside it, at its end
            svg.append('<text class="dur dur-in" x="%s" y="%s" dominant-baseline="middle" text-anchor="end">%s</text>'
                       % (_num(bx0 + width - 5), _num(mid), _esc(text)))
        else:  # before it
            svg.append('<text class="dur" x="%s" y="%s" dominant-baseline="middle" text-anchor="end">%s</text>'
                       % (_num(bx0 - 5), _num(mid), _esc(text)))
    # The legend: the statuses, the open bars and the downtime when the chart has them.
    entries = [('<rect class="swatch %s" x="0" y="0" width="14" height="12" rx="2"/>' % css, label) for css, label in LEGEND]
    if any(p["start"] is not None and p["end"] is None for p in phases):
        entries.append(('<rect class="swatch running open" x="0" y="0" width="14" height="12" rx="2"/>'
                        '<rect class="hatch" x="0" y="0" width="14" height="12" fill="url(#%s-hatch)"/>' % CHART_ID,
                        "no end yet (to the last known time)"))
    if down0 is not None:
        entries.append(('<rect class="swatch downtime" x="0" y="0" width="14" height="12"/>', "downtime"))
    lx = 8
    for swatch, label in entries:
        svg.append('<g class="legend" transform="translate(%d,%d)">%s<text x="19" y="10">%s</text></g>'
                   % (lx, legend_y, swatch, _esc(label)))
        lx += 32 + 7 * len(label)
    svg.append("</svg>")
    if down0 is None:
        caption = "No downtime window was given, so none is shaded."
    elif down1 is None:
        caption = "Shaded: the downtime, from %s UTC, not over at the last recorded time." % _hms(down0)
    else:
        caption = "Shaded: the downtime, %s to %s UTC (%s)." % (
            _hms(down0), _hms(down1), duration((down1 - down0).total_seconds()))
    return ('<figure class="chart">\n%s\n<figcaption>Phases on a common time axis (UTC), coloured by status; '
            'hover a bar for its times. %s</figcaption>\n</figure>' % ("\n".join(svg), _esc(caption)))


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; color: #1d2330; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 24px auto; padding: 24px 32px 40px; background: #fff;
  border: 1px solid #dde1e8; border-radius: 6px; }
h1 { font-size: 1.7em; margin: 0 0 .6em; padding-bottom: .3em; border-bottom: 2px solid #dde1e8; }
h2 { font-size: 1.3em; margin: 1.6em 0 .6em; padding-bottom: .2em; border-bottom: 1px solid #e6e9ef; }
h3 { font-size: 1.1em; margin: 1.3em 0 .5em; }
ul { margin: .4em 0 .8em; padding-left: 1.5em; }
li { margin: .15em 0; }
ul.tasks { list-style: none; padding-left: .4em; }
li.task input { margin: 0 .45em 0 0; vertical-align: -2px; }
li.task.done .task-text { color: #1b5e20; }
li.task.na { color: #8a90a0; }
li.task.na .task-text { text-decoration: line-through; text-decoration-color: #b9bdc8; }
.na-badge { display: inline-block; margin-left: .4em; padding: 0 .45em; font-size: .8em; color: #5f6577;
  background: #eceef2; border: 1px solid #d5d8e0; border-radius: 8px; text-decoration: none; }
code { font: .9em/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: #f0f2f5; border: 1px solid #e1e4ea; border-radius: 3px; padding: 0 .25em; word-break: break-all; }
a { color: #0b57d0; }
time { white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: .6em 0 1em; }
table { border-collapse: collapse; font-size: .93em; min-width: 60%; }
th, td { border: 1px solid #d5d9e0; padding: .3em .65em; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
tbody tr:nth-child(even) td { background: #fafbfc; }
figure.chart { margin: .6em 0 1.2em; overflow-x: auto; }
figure.chart figcaption { font-size: .85em; color: #5f6577; margin-top: .2em; }
#timeline-chart { display: block; max-width: 100%; height: auto; font: 12px system-ui, -apple-system, "Segoe UI",
  Roboto, Arial, sans-serif; }
#timeline-chart .stripe { fill: #f6f7f9; }
#timeline-chart .grid { stroke: #e3e6eb; stroke-width: 1; }
#timeline-chart .axis { stroke: #8a90a0; stroke-width: 1; }
#timeline-chart .tick, #timeline-chart .axis-label { fill: #5f6577; font-size: 11px; }
#timeline-chart .label { fill: #1d2330; font-weight: 600; }
#timeline-chart .missing { fill: #8a90a0; font-style: italic; }
#timeline-chart .dur { fill: #3b4252; font-size: 11px; }
#timeline-chart .dur-in { fill: #ffffff; }
#timeline-chart .downtime { fill: #e53935; fill-opacity: .13; stroke: #e53935; stroke-opacity: .45;
  stroke-dasharray: 4 3; }
#timeline-chart .bar, #timeline-chart .swatch { stroke-width: 1; }
#timeline-chart .completed { fill: #2e7d32; stroke: #1b5e20; }
#timeline-chart .failed { fill: #c62828; stroke: #8e0000; }
#timeline-chart .running { fill: #1e88e5; stroke: #1565c0; }
#timeline-chart .other { fill: #9e9e9e; stroke: #757575; }
#timeline-chart .open { fill-opacity: .55; stroke-dasharray: 3 2; }
#timeline-chart .hatch { pointer-events: none; }
#timeline-chart .legend text { fill: #3b4252; font-size: 11px; }
p.chart-note { color: #5f6577; font-style: italic; }
@media print { body { background: #fff; } main { border: 0; margin: 0; max-width: none; } }
"""


def report_html(markdown_text, timeline=None, downtime_start=None, downtime_end=None, title=None):
    if markdown_text is None:
        markdown_text = ""
    if not isinstance(markdown_text, str):
        raise AnsibleFilterError("report_html: expected the markdown text of the report, got %r"
                                 % (type(markdown_text).__name__,))
    blocks = markdown_blocks(markdown_text)
    chart = timeline_chart(timeline, downtime_start, downtime_end)
    kinds = [(kind, extra) for kind, _html, extra in blocks]
    at = next((n + 1 for n, (kind, extra) in enumerate(kinds) if kind == "h2" and extra.lower() == "timeline"),
              next((n + 1 for n, (kind, _extra) in enumerate(kinds) if kind == "h1"), 0))
    body = [block for _kind, block, _extra in blocks]
    body.insert(at, chart)
    if title is None:
        title = next((extra for kind, extra in kinds if kind == "h1"), "") or "Incident report"
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            # Nothing to fetch and nothing to run: the page is all there is.
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">\n'
            '<meta name="generator" content="runbooks.rollback.report_html">\n'
            "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n%s\n</main>\n</body>\n</html>\n"
            % (_esc(str(title)), CSS, "\n".join(body)))


class FilterModule(object):
    def filters(self):
        return {"report_html": report_html}
