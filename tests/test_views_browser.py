"""The teaching tabs in a real browser: draw a digit, open each tab, and check that it
renders its content (pictures or charts) with no error, saving a screenshot of each.

Skips, saying why, without Playwright or Debian's chromium, except with CI=true.
"""
from __future__ import annotations


import pytest

from browser import page_with_a_digit
from ui.i18n import t
from ui.teaching import TABS

# What each tab must show once a digit is drawn: a picture or a chart, or (for the runs,
# none recorded in a fresh data folder) the hint saying where runs come from.
SHOWS = {"runs": "No trainings recorded yet"}     # a fresh data folder: a message, no picture




@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with page_with_a_digit(tmp_path_factory.mktemp("data")) as digits:
        yield digits.page


@pytest.mark.parametrize("tab", TABS)
def test_each_teaching_tab_renders_without_error(page, tab, tmp_path):
    page.get_by_role("tab", name=t(f"tabs.{tab}", lang="en")).click()
    panel = page.locator('[role="tabpanel"]:visible').first
    if tab in SHOWS:
        panel.get_by_text(SHOWS[tab]).wait_for(timeout=60_000)
    else:
        panel.locator("img, canvas, svg.marks").first.wait_for(timeout=60_000)
    panel.screenshot(path=tmp_path / f"{tab}.png")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert (tmp_path / f"{tab}.png").stat().st_size > 1000
