"""A stroke may begin anywhere on the canvas, even a few pixels from its edges, and the
canvas's own buttons work: in a real browser.

Each digit is a real one from drawn_dev_strokes.json, moved (and shrunk if it must be) so its
first stroke begins 3-6 px from an edge or a corner, and drawn in a fresh session, as a
student's first digit: nothing hovered yet, nothing that only appears on hover moved away.
It must be drawn where it begins (ink on the canvas there) and guessed. The component's
floating toolbar once lay, invisible, over the top right of the canvas and swallowed such
strokes; on a phone, Streamlit's header lay over whatever scrolled under it.

    python -m pytest -q -s tests/test_canvas_edges_browser.py     # -s prints each guess

Skips, saying why, without Playwright or Debian's chromium, except with CI=true.
"""
from __future__ import annotations


import pytest

import browser as helpers
from browser import (chromium_browser, recorded_samples, VIEWPORT, DigitPage, covered_points, expect,
                     ink, ink_near, streamlit_server)

SIZE = 280              # the canvas, in canvas pixels
PHONE = {"width": 390, "height": 844}
MARGIN = 2              # every moved point stays this far inside the canvas
SMALLEST = 0.6          # a digit shrunk more than this is no longer a student's digit
# Where the first stroke begins, and which digit begins there. (220, 13): the reported band,
# where a 9's and a 6's pen went down.
STARTS = {
    "top-left corner": ((5, 5), 7),         # a 7's top bar
    "top edge": ((140, 3), 0),
    "top-right corner": ((275, 4), 6),
    "top band as reported": ((220, 13), 9),
    "right edge": ((276, 140), 5),
    "bottom-right corner": ((274, 276), 4),
    "bottom edge": ((140, 277), 1),         # a 1 drawn upwards
    "bottom-left corner": ((4, 275), 3),
    "left edge": ((3, 140), 2),
}




@pytest.fixture(scope="module")
def samples():
    return recorded_samples()


@pytest.fixture(scope="module")
def chromium(samples):
    with chromium_browser(fast_frames=True) as browser:
        yield browser


@pytest.fixture(scope="module")
def server(samples, tmp_path_factory):
    with streamlit_server(data_dir=tmp_path_factory.mktemp("data")) as server:
        yield server


@pytest.fixture
def page(chromium, server):
    """A fresh browser context: a new Streamlit session, the mouse never yet over the canvas."""
    context = chromium.new_context(viewport=VIEWPORT)
    yield DigitPage(context.new_page(), server.url).open()
    context.close()


# -- the digits --------------------------------------------------------------------------------
def first_stroke_reversed(strokes):
    return [strokes[0][::-1], *strokes[1:]]


def scale_to_start(strokes, start) -> float:
    """The largest scale (at most 1) that puts the first point on `start` and every point on
    the canvas."""
    first = strokes[0][0]
    points = [p for stroke in strokes for p in stroke]
    scale = 1.0
    for axis, target in enumerate(start):
        below = first[axis] - min(p[axis] for p in points)
        above = max(p[axis] for p in points) - first[axis]
        if below > 0:
            scale = min(scale, (target - MARGIN) / below)
        if above > 0:
            scale = min(scale, (SIZE - MARGIN - target) / above)
    return scale


def moved(strokes, start, scale):
    (x0, y0), (tx, ty) = strokes[0][0], start
    return [[(tx + scale * (x - x0), ty + scale * (y - y0)) for x, y in stroke] for stroke in strokes]


def digit_starting_at(samples, label: int, start):
    """The drawn `label` that fits best with its first stroke beginning at `start`: as it was
    drawn if it fits, else with its first stroke drawn the other way round."""
    options = [(scale_to_start(s, start), -turned, s)
               for sample in samples if sample["label"] == label
               for turned, s in enumerate([sample["strokes"], first_stroke_reversed(sample["strokes"])])]
    scale, _, strokes = max(options, key=lambda o: o[:2])
    assert scale >= SMALLEST, f"no drawn {label} can begin at {start} without shrinking below {SMALLEST}"
    return moved(strokes, start, scale)


# -- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("where", STARTS)
def test_a_first_stroke_near_the_edge_is_drawn_and_guessed(page, samples, where, monkeypatch):
    start, label = STARTS[where]
    strokes = digit_starting_at(samples, label, start)

    assert not covered_points(page, [start]), f"a pen put down at {start} ({where}) misses the canvas"
    monkeypatch.setattr(helpers, "STROKE_TRIES", 1)  # drawn once, as a student does: not again if lost
    page.draw(strokes)
    assert ink_near(page, start) > 0, f"no ink where the stroke began, {start} ({where})"
    guess = page.guess()
    print(f"\n{where}: a {label} beginning at {start}, guessed {guess}")
    assert guess in list("0123456789")


def test_nothing_covers_the_canvas_edges(page):
    """Every 4 px along a ring 3 px inside the canvas's edges, the pen reaches the canvas:
    before the mouse has been over it, and after (when hover effects have moved things)."""
    ring = ([(x, y) for x in range(3, SIZE - 2, 4) for y in (3, SIZE - 3)] +
            [(x, y) for y in range(3, SIZE - 2, 4) for x in (3, SIZE - 3)])
    assert not covered_points(page, ring)
    box = page.canvas_box()
    page.page.mouse.move(box["x"] + SIZE / 2, box["y"] + SIZE / 2)
    page.page.wait_for_timeout(500)     # the toolbar's hover transition took 0.2 s
    assert not covered_points(page, ring)


def test_the_header_never_covers_the_canvas_on_a_phone(chromium, server):
    """On a phone the page scrolls under Streamlit's header: with the canvas's top scrolled
    10 px past the header's lower edge, the canvas's highest row that can be seen takes the pen."""
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = DigitPage(context.new_page(), server.url).open()
        page.draw([[(140, 60), (140, 220)]])
        page.guess()                    # the guess and the tabs under it: a page long enough to scroll
        header = page.page.locator('[data-testid="stHeader"]').bounding_box()
        edge = header["y"] + header["height"]
        main = page.page.locator('[data-testid="stMain"]')
        main.evaluate("(main, by) => main.scrollTop += by", page.canvas_box()["y"] - (edge - 10))
        box = page.canvas_box()
        assert box["y"] < edge, f"the canvas ({box}) could not be scrolled under the header ({header})"
        shown_from = main.evaluate("main => main.getBoundingClientRect().top + main.clientTop")
        row = max(box["y"], shown_from) - box["y"] + 3
        assert not covered_points(page, [(x, row) for x in range(3, SIZE - 2, 8)])
    finally:
        context.close()


def test_undo_takes_back_the_last_stroke(page):
    """Two strokes, Undo: only the first is left, and guessed; Undo again: an empty canvas,
    no guess, no error; a new stroke draws; Clear empties it."""
    bar, stem = [(60, 60), (220, 60)], [(200, 70), (110, 240)]      # a 7, in two strokes
    page.draw([bar, stem])
    page.guess()
    undo = page.page.locator(".st-key-undo button")

    before = page.seen()
    undo.click()
    page.wait_for_new_guess(before)
    assert ink_near(page, bar[0]) > 0 and ink_near(page, stem[-1]) == 0

    undo.click()
    page.page.wait_for_function(f"c => ({helpers.INK_PIXELS})(c) === 0",
                                arg=page.page.locator(helpers.INK).element_handle(), polling="raf")
    expect(page.page.locator(helpers.GUESS)).to_have_count(0)
    expect(undo).to_be_disabled()
    assert page.page.locator('[data-testid="stException"]').count() == 0

    page.draw([stem])
    assert page.guess() in list("0123456789") and ink(page) > 0
    page.clear()
    assert ink(page) == 0
