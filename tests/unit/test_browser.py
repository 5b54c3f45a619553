"""The HTML incident report in a real headless Chromium (tests/browser.py), and the PNG reader it uses.

A missing Chromium fails these tests with the ``make host-deps`` message: a browser test that
skips is not coverage.
"""
import os
import re
import struct
import sys
import zlib

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import browser  # noqa: E402  pylint: disable=wrong-import-position,import-error

from ansible_collections.runbooks.rollback.plugins.filter.report_html import report_html  # noqa: E402
from ansible_collections.runbooks.rollback.plugins.filter.timeline import timeline  # noqa: E402

# A rollback that stopped in recover_data after a retried database phase; start was running when
# the report was written. Built as the rollback_state record, turned into rows by the timeline filter.
RECORD = {
    "rollback_id": "20261124T1028",
    "order": ["decide", "stop", "database", "code", "recover_data", "start"],
    "phases": {
        "decide": {"status": "completed", "started_at": "2026-11-24T10:28:40Z", "ended_at": "2026-11-24T10:29:10Z"},
        "stop": {"status": "completed", "started_at": "2026-11-24T10:30:02Z", "ended_at": "2026-11-24T10:30:40Z"},
        "database": {"status": "completed", "started_at": "2026-11-24T10:30:40Z", "ended_at": "2026-11-24T10:36:55Z",
                     "attempts": 2},
        "code": {"status": "completed", "started_at": "2026-11-24T10:36:55Z", "ended_at": "2026-11-24T10:39:05Z"},
        "recover_data": {"status": "failed", "started_at": "2026-11-24T10:39:05Z", "ended_at": "2026-11-24T10:40:12Z",
                         "error": 'duplicate key value violates unique constraint "users_pkey" <script>'},
        "start": {"status": "started", "started_at": "2026-11-24T10:41:00Z", "ended_at": None},
    },
}
ROWS = timeline(RECORD)

REPORT = """# Incident report: open-discussions rollback 20261124T1028

- Environment: production
- Outcome: STOPPED in phase recover_data
- Bad deployment: 2026-11-24T09:55:00Z (0.6 h before the decision)
- Decision: window A (restore), scenario 2 Data corruption: **restore the backup**
- Reason: migration 0042 rewrote the users table
- Symptoms (the runbook's words):
  - 500 errors on login (scenario 2)
  - users without email <script>alert(1)</script> (scenario 2; taken as corruption)
- Incident commander: Jane Doe
- Audit trail: one line per run of this rollback in `/var/lib/rollback/audit.jsonl`

## Timeline

| Phase | Started (UTC) | Ended (UTC) | Duration | Status | Attempts |
|---|---|---|---|---|---|
""" + "".join("| %s | %s | %s | %s | %s%s | %s |\n" % (
    r["phase"], r["started_at"], r["ended_at"] or "-", r["duration"], r["status"],
    (": " + r["error"]) if r["error"] else "", r["attempts"]) for r in ROWS) + """
Downtime (maintenance page on until the site was started again): 10m 58s.

## Data

- Backup restored: /var/backups/pg/open_discussions-20261124T0950.dump
- Rows written since the deployment (lost by the restore without re-import): 5
  - users: 3
  - podcasts: 2
- Previous database kept as: open_discussions_pre_rollback_20261124T1028

## Final rollback checklist

- [x] Decision taken against the matrix: restore the backup
- [x] Site in maintenance, web and workers stopped
- [ ] Exported data re-imported without conflicts
- [-] Search index rebuilt, search works for every content type (not part of this rollback)
- [ ] Stakeholders informed (ops@example.com, https://status.example.com/incidents/42)
"""


def render(tmp_path):
    page = report_html(REPORT, timeline=ROWS, downtime_start="2026-11-24T10:30:05Z", downtime_end=None)
    path = tmp_path / "incident_report.html"
    path.write_text(page, encoding="utf-8")
    return path


def test_chromium_is_installed():
    # Not a skip: without it the report's browser test does not run, and make host-deps installs it.
    assert os.access(browser.chromium_binary(), os.X_OK)


def test_chromium_parses_the_report_with_its_chart_and_sections(tmp_path):
    dom = browser.dump_dom(str(render(tmp_path)))
    assert re.search(r'<svg[^>]*id="timeline-chart"', dom)
    for section in ("timeline", "data", "final-rollback-checklist"):
        assert re.search(r'<h2 id="%s">' % section, dom), section
    assert dom.count('class="bar ') == len(ROWS)
    assert 'class="downtime"' in dom
    # The operator's and the database's text is text in the browser too: no element was made of it.
    assert "<script>" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    # The chart comes right after the Timeline heading.
    assert dom.index('<h2 id="timeline">') < dom.index('id="timeline-chart"') < dom.index("<table>")


def test_a_screenshot_of_the_report_has_the_window_size_and_shows_something(tmp_path):
    png = browser.screenshot(str(render(tmp_path)), str(tmp_path / "incident_report.png"), width=1280, height=2400)
    assert png == str(tmp_path / "incident_report.png")
    assert browser.png_size(png) == (1280, 2400)
    assert not browser.png_is_blank(png)


def test_the_png_reader_sees_what_chromium_drew_where_it_drew_it(tmp_path):
    page = tmp_path / "square.html"
    page.write_text('<!DOCTYPE html><html><body style="margin:0;background:#ffffff">'
                    '<div style="position:absolute;left:100px;top:50px;width:200px;height:100px;'
                    'background:#ff0000"></div><p style="position:absolute;left:20px;top:200px;margin:0;'
                    'font-size:30px">Rollback 20261124T1028</p></body></html>')
    png = browser.screenshot(str(page), str(tmp_path / "square.png"), width=400, height=300)
    assert browser.png_size(png) == (400, 300)
    assert not browser.png_is_blank(png)
    rows = list(browser.png_rows(png))
    bpp = len(rows[0]) // 400
    assert len(rows) == 300

    def pixel(x, y):
        return tuple(rows[y][x * bpp:x * bpp + 3])

    assert pixel(10, 10) == (255, 255, 255)
    assert pixel(150, 80) == (255, 0, 0)
    assert pixel(299, 149) == (255, 0, 0) and pixel(300, 149) == (255, 255, 255)
    assert pixel(390, 290) == (255, 255, 255)
    # The text row holds pixels darker than the page, the rows under it do not.
    assert any(value < 128 for value in rows[215][20 * bpp:380 * bpp])
    assert set(rows[280]) == {255}


def test_an_empty_page_is_blank(tmp_path):
    page = tmp_path / "empty.html"
    page.write_text('<!DOCTYPE html><html><body style="background:#fafafa"></body></html>')
    png = browser.screenshot(str(page), str(tmp_path / "empty.png"), width=320, height=200)
    assert browser.png_size(png) == (320, 200)
    assert browser.png_is_blank(png)


def _png(width, height, colour_type, rows, filters):
    """A PNG written by hand, each row with the given filter type (the filtered bytes are given)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    data = b"".join(bytes([f]) + row for f, row in zip(filters, rows))
    return (browser.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))


def test_the_png_reader_undoes_each_filter_type(tmp_path):
    # Two RGB pixels per row; the second row under each filter type decodes to (10,20,30),(40,50,60)
    # given the first row (1,2,3),(4,5,6) unfiltered.
    first = bytes([1, 2, 3, 4, 5, 6])
    want = bytes([10, 20, 30, 40, 50, 60])
    encoded = {
        0: want,
        1: bytes([10, 20, 30, 30, 30, 30]),
        2: bytes([9, 18, 27, 36, 45, 54]),
        3: bytes([10 - 0, 20 - 1, 30 - 1, 40 - 7, 50 - 12, 60 - 18]),  # floor((left + up) / 2)
        # Paeth: the first pixel predicts up (left and upper-left are 0); the second its left
        # neighbour (for red p = 10 + 4 - 1 = 13: |p - left| = 3, |p - up| = 9, |p - upper-left| = 12).
        4: bytes([10 - 1, 20 - 2, 30 - 3, 40 - 10, 50 - 20, 60 - 30]),
    }
    for kind, row in encoded.items():
        path = tmp_path / ("f%d.png" % kind)
        path.write_bytes(_png(2, 2, 2, [first, row], [0, kind]))
        assert list(browser.png_rows(str(path))) == [first, want], kind
        assert not browser.png_is_blank(str(path))
    same = tmp_path / "same.png"
    same.write_bytes(_png(2, 2, 6, [bytes([7, 7, 7, 255] * 2), bytes(8)], [0, 2]))
    assert browser.png_is_blank(str(same))


def test_a_screenshot_chromium_cannot_write_is_an_error_with_what_it_said(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<!DOCTYPE html><p>x</p>")
    with pytest.raises(browser.BrowserError, match="wrote no screenshot to .*/no-such-dir/p.png"):
        browser.screenshot(str(page), str(tmp_path / "no-such-dir" / "p.png"), width=200, height=100)
    with pytest.raises(browser.BrowserError, match="no such HTML file"):
        browser.dump_dom(str(tmp_path / "missing.html"))


def test_a_chromium_that_does_not_finish_in_time_is_killed_and_reported(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<!DOCTYPE html><p>x</p>")
    with pytest.raises(browser.BrowserError, match="did not finish within 0.01 s"):
        browser.screenshot(str(page), str(tmp_path / "p.png"), width=200, height=100, timeout=0.01)


def test_a_file_that_is_not_a_png_is_refused(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"GIF89a")
    with pytest.raises(browser.BrowserError, match="not a PNG"):
        browser.png_size(str(path))


def test_a_missing_chromium_says_to_run_make_host_deps(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(browser.BrowserError, match="make host-deps"):
        browser.chromium_binary()
