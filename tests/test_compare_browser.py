"""Compare models in a real browser: a digit drawn with the mouse, the switch turned on, and the
three models' guesses shown side by side for that drawing, each with its probabilities, with a
sentence saying whether they agree. Then the CNN filters tab for the same drawing.
The screenshots go to the test's temporary folder."""
from __future__ import annotations

import pytest

from model.store import SHIPPED_FILES
from browser import page_with_a_digit
from ui.i18n import t


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    with page_with_a_digit(tmp_path_factory.mktemp("data"), height=1600) as digits:
        yield digits


def test_the_three_models_read_the_drawing_side_by_side(page, tmp_path):
    guess = page.guess()
    page.page.locator(".st-key-compare_models label").first.click()
    side = page.page.locator(".st-key-compare_side")
    side.wait_for(timeout=30_000)
    columns = side.locator('[data-testid="stColumn"]')
    assert columns.count() == len(SHIPPED_FILES)
    for i, architecture in enumerate(SHIPPED_FILES):
        digit = page.page.locator(f".st-key-compare_guess_{architecture} h1").first
        digit.wait_for(timeout=30_000)
        assert digit.inner_text().strip().isdigit()
        # each column shows its ten probabilities as a chart
        columns.nth(i).locator("canvas, svg.marks").first.wait_for(timeout=30_000)
    shown = side.inner_text()
    for name in ("name_softmax", "name_mlp", "name_cnn"):
        assert t(f"compare.{name}", lang="en") in shown
    softmax_guess = page.page.locator(".st-key-compare_guess_softmax h1").first.inner_text().strip()
    assert softmax_guess == guess                   # the lesson's model: the same guess as the page's
    sentence = t("compare.agree", lang="en").split("{")[0].strip()
    disagree = t("compare.disagree", lang="en").split("{")[0].strip()
    assert sentence in page.page.content() or disagree in page.page.content()
    assert page.page.locator('[data-testid="stException"]').count() == 0
    side.screenshot(path=tmp_path / "compare.png")


def test_the_cnn_filters_tab_shows_the_filters_on_this_drawing(page, tmp_path):
    page.page.get_by_role("tab", name=t("tabs.filters", lang="en")).click()
    panel = page.page.locator('[role="tabpanel"]:visible').first
    panel.locator("img").nth(1).wait_for(timeout=60_000)   # the filters and their responses
    assert page.page.locator('[data-testid="stException"]').count() == 0
    panel.screenshot(path=tmp_path / "filters.png")
