"""The styled copies of MNIST's 1s, 7s and 9s: the stroke each style adds is where a writer
puts it, only those digits are copied, and the originals are left alone."""
from __future__ import annotations

import numpy as np
import pytest

from PIL import Image, ImageDraw

from model.augment import CURSIVE_NINES, cross_seven, cursive_nine, flag_one, hook_nine, settle, world_styles


def examples(mnist, digit, n=20):
    return mnist.x_train[np.flatnonzero(mnist.y_train == digit)[:n]]


def ink_box(image):
    ys, xs = np.nonzero(image > 64)
    return ys.min(), ys.max(), xs.min(), xs.max()


def added(before, after):
    """The new stroke: pixels that were background and are now ink (as an image, 255 = new)."""
    return np.where((before < 32) & (after > 128), 255, 0)


def test_a_flagged_one_gains_ink_left_of_its_top(mnist):
    rng = np.random.default_rng(0)
    flagged = 0
    for one in examples(mnist, 1):
        top, bottom, _, _ = ink_box(one)
        x_top = np.nonzero(one[top] > 64)[0].mean()
        ys, xs = np.nonzero(added(one, flag_one(one, rng)))
        flagged += ((ys < top + 0.5 * (bottom - top)) & (xs < x_top)).sum() >= 2
    assert flagged >= 16                                   # of 20; a short flag may hug the stroke


def test_a_crossed_seven_gains_a_bar_on_both_sides_of_its_stem(mnist):
    rng = np.random.default_rng(0)
    crossed = 0
    for seven in examples(mnist, 7):
        top, bottom, _, _ = ink_box(seven)
        ys, xs = np.nonzero(added(seven, cross_seven(seven, rng)))
        if ys.size:
            assert top + 0.35 * (bottom - top) <= ys.mean() <= top + 0.7 * (bottom - top)
            crossed += np.ptp(xs) >= 2 * max(1, np.ptp(ys))  # a horizontal bar
    assert crossed >= 16


def test_a_hooked_nine_keeps_its_loop_and_moves_its_tail_left(mnist):
    rng = np.random.default_rng(0)
    for nine in examples(mnist, 9):
        top, bottom, _, _ = ink_box(nine)
        hooked = hook_nine(nine, rng)
        upper = int(top + 0.5 * (bottom - top))
        np.testing.assert_array_equal(hooked[:upper], nine[:upper])
        cols = np.arange(28)
        low = slice(int(top + 0.8 * (bottom - top)), bottom + 1)
        centre = lambda im: (im[low].sum(axis=0) @ cols) / max(im[low].sum(), 1)
        assert centre(hooked) < centre(nine) - 1.0


def hole(image):
    """The background that the outside cannot reach (a loop's inside), as a boolean image."""
    framed = np.pad(np.where(image > 64, 255, 0).astype(np.uint8), 1)   # the outside goes all round
    filled = Image.fromarray(framed).copy()   # a copy of its own: fromarray may share the array
    ImageDraw.floodfill(filled, (0, 0), 128)
    return (np.asarray(filled) == 0)[1:-1, 1:-1]


def test_cursive_nines_have_a_small_loop_at_the_top_and_a_tail_hooking_left():
    """A 9 written fast: the loop is small and high, the tail long; most hook left at the bottom."""
    rng = np.random.default_rng(0)
    closed = hooked = 0
    for _ in range(60):
        nine = cursive_nine(rng)
        top, bottom, _, _ = ink_box(nine)
        assert bottom - top >= 15
        inside = np.nonzero(hole(nine))[0]
        if inside.size:
            closed += 1
            assert inside.max() < top + 0.5 * (bottom - top)     # the loop is in the upper half
        middle = np.nonzero(nine[(top + bottom) // 2] > 64)[0].mean()
        foot = np.nonzero(nine[bottom - 1:bottom + 1] > 64)[1].min()
        hooked += foot < middle - 2
    assert closed >= 40 and hooked >= 30


def test_only_ones_sevens_and_nines_are_copied_and_the_originals_stay(mnist):
    images, labels = mnist.x_train[:2000].copy(), mnist.y_train[:2000]
    copies, copy_labels = world_styles(images, labels, seed=3)
    np.testing.assert_array_equal(images, mnist.x_train[:2000])
    restyled = sorted(l for l in labels.tolist() if l in (1, 7, 9))
    cursive = int(CURSIVE_NINES * labels.tolist().count(9))
    assert sorted(copy_labels.tolist()) == sorted(restyled + [9] * cursive)
    assert copies.shape == (len(copy_labels), 28, 28) and copies.dtype == np.uint8
    again, _ = world_styles(images, labels, seed=3)
    np.testing.assert_array_equal(copies, again)


@pytest.mark.parametrize("style", [flag_one, cross_seven, hook_nine])
def test_a_blank_image_stays_blank(style):
    blank = np.zeros((28, 28), np.uint8)
    np.testing.assert_array_equal(style(blank, np.random.default_rng(0)), blank)


def test_no_ones_sevens_or_nines_give_no_copies(mnist):
    keep = np.isin(mnist.y_train[:500], [0, 2, 3])
    copies, labels = world_styles(mnist.x_train[:500][keep], mnist.y_train[:500][keep])
    assert copies.shape == (0, 28, 28) and labels.size == 0


def test_settled_copies_move_a_little_and_keep_their_ink(mnist):
    """`settle` moves the model's own 28x28 inputs: every copy changes, none is lost or
    thickened (its ink within a scaling's reach of the original's)."""
    pixels = mnist.x_train[:200].reshape(200, -1)
    moved = settle(pixels, seed=0)
    assert moved.shape == pixels.shape and moved.dtype == np.uint8
    change = np.abs(moved.astype(int) - pixels).mean(axis=1)
    assert (change > 1).all()
    ink_ratio = moved.sum(axis=1) / pixels.sum(axis=1)
    assert ((ink_ratio > 0.75) & (ink_ratio < 1.3)).all()
    assert np.array_equal(settle(pixels, seed=0), moved)   # the same seed, the same copies
