"""Cutting a line quad into word quads (bench/spotters/words.py).

Every expected quad below is worked out by hand from the line quad: a word that
covers fractions ``a..b`` of the line has corners ``top(a), top(b), bottom(b),
bottom(a)``, where ``top(t) = p0 + t (p1 - p0)`` and ``bottom(t) = p3 + t (p2 - p3)``.
"""

from __future__ import annotations

import pytest

from bench.spotters.words import clockwise, signed_area, span_quad, split_line, word_spans


def approx_quad(poly, expected):
    assert len(poly) == len(expected)
    for (x, y), (ex, ey) in zip(poly, expected):
        assert x == pytest.approx(ex, abs=1e-9) and y == pytest.approx(ey, abs=1e-9)


def test_horizontal_line_with_char_positions():
    """'Main Street 1492' drawn with 10-px characters from x=100 on a 160-px line:
    character k is centred at (k + 0.5) * 10 px, i.e. fraction (k + 0.5) / 16.
    The median spacing is 10 px, so each word spans from its first centre - 5 px
    to its last centre + 5 px: Main 100-140, Street 150-210, 1492 220-260."""
    text = "Main Street 1492"
    centers = [(k + 0.5) / 16 for k in range(len(text))]
    quad = [(100, 50), (260, 50), (260, 70), (100, 70)]
    words = split_line(quad, text, centers)
    assert [w.text for w in words] == ["Main", "Street", "1492"]
    assert [(w.start, w.end) for w in words] == [(0, 4), (5, 11), (12, 16)]
    approx_quad(words[0].polygon, [(100, 50), (140, 50), (140, 70), (100, 70)])
    approx_quad(words[1].polygon, [(150, 50), (210, 50), (210, 70), (150, 70)])
    approx_quad(words[2].polygon, [(220, 50), (260, 50), (260, 70), (220, 70)])


def test_space_positions_are_ignored_and_char_width_can_be_given():
    """Spaces may carry no position (None). With char_width = 0.1 of a 100-px
    line, 'ab cd' with centres 0.1, 0.2 / 0.6, 0.7 gives ab 5-25 px, cd 55-75 px."""
    quad = [(0, 0), (100, 0), (100, 10), (0, 10)]
    words = split_line(quad, "ab cd", [0.1, 0.2, None, 0.6, 0.7], char_width=0.1)
    approx_quad(words[0].polygon, [(5, 0), (25, 0), (25, 10), (5, 10)])
    approx_quad(words[1].polygon, [(55, 0), (75, 0), (75, 10), (55, 10)])


def test_vertical_line_read_top_to_bottom():
    """A 100 x 20 line turned 90 degrees clockwise: reading runs down (+y) and the
    tops of the letters face +x. 'ab cd' shared by character count (5 columns of
    20 px): ab covers y 0-40, cd y 60-100."""
    quad = [(50, 0), (50, 100), (30, 100), (30, 0)]
    assert signed_area(quad) > 0  # clockwise in image coordinates
    ab, cd = split_line(quad, "ab cd")
    approx_quad(ab.polygon, [(50, 0), (50, 40), (30, 40), (30, 0)])
    approx_quad(cd.polygon, [(50, 60), (50, 100), (30, 100), (30, 60)])


def test_slanted_line_follows_its_direction():
    """A 3-4-5 slant: reading direction (0.8, 0.6) over 100 px from (10, 10), the
    text 10 px high (bottom edge offset (-6, 8)). 'ab cd' by character count: ab
    ends at 0.4 of the line, i.e. (10, 10) + 40 * (0.8, 0.6) = (42, 34); cd starts
    at 0.6: top (58, 46), bottom (4, 18) + 60 * (0.8, 0.6) = (52, 54)."""
    tl = (10.0, 10.0)
    quad = [tl, (90.0, 70.0), (84.0, 78.0), (4.0, 18.0)]
    ab, cd = split_line(quad, "ab cd")
    approx_quad(ab.polygon, [(10, 10), (42, 34), (36, 42), (4, 18)])
    approx_quad(cd.polygon, [(58, 46), (90, 70), (84, 78), (52, 54)])
    assert signed_area(ab.polygon) > 0 and signed_area(cd.polygon) > 0


def test_single_word_keeps_the_line_quad():
    """One word and no positions: the word is the whole line."""
    quad = [(3, 4), (53, 4), (53, 24), (3, 24)]
    (w,) = split_line(quad, "Hello")
    assert w.text == "Hello" and (w.start, w.end) == (0, 5)
    approx_quad(w.polygon, quad)


def test_single_word_from_positions_spans_first_to_last_character():
    """Five characters centred at 0.3..0.7 (spacing 0.1): the word covers
    0.25..0.75 of a 200-px line, i.e. x 50-150."""
    quad = [(0, 0), (200, 0), (200, 30), (0, 30)]
    (w,) = split_line(quad, "Hello", [0.3, 0.4, 0.5, 0.6, 0.7])
    approx_quad(w.polygon, [(50, 0), (150, 0), (150, 30), (50, 30)])


def test_leading_and_trailing_spaces():
    """Without positions, outer spaces take no room: '  ab cd ' is cut like
    'ab cd' (ab 0-0.4, cd 0.6-1), and indices still point into the given text."""
    spans = word_spans("  ab cd ")
    assert [(s.text, s.start, s.end) for s in spans] == [("ab", 2, 4), ("cd", 5, 7)]
    assert [(s.a, s.b) for s in spans] == [pytest.approx((0.0, 0.4)), pytest.approx((0.6, 1.0))]
    with_pos = word_spans(" ab ", [None, 0.25, 0.75, None])  # spacing 0.5 -> +-0.25
    assert [(s.text, s.a, s.b) for s in with_pos] == [("ab", 0.0, 1.0)]


def test_spans_are_clipped_to_the_line():
    """A character centred 0.02 from the start with width 0.1 would begin at
    -0.03: it is clipped to 0."""
    (s,) = word_spans("ab", [0.02, 0.12])
    assert (s.a, s.b) == (0.0, pytest.approx(0.17))


def test_blank_text_gives_no_words():
    assert split_line([(0, 0), (1, 0), (1, 1), (0, 1)], "   ") == []
    assert split_line([(0, 0), (1, 0), (1, 1), (0, 1)], "") == []


def test_bad_inputs_are_reported():
    quad = [(0, 0), (10, 0), (10, 5), (0, 5)]
    with pytest.raises(ValueError, match="2 character positions for 3 characters"):
        split_line(quad, "abc", [0.1, 0.2])
    with pytest.raises(ValueError, match="character 1 .'b'. of 'abc' has no position"):
        split_line(quad, "abc", [0.1, None, 0.3])
    with pytest.raises(ValueError, match="4 .x, y. points"):
        split_line([(0, 0), (1, 0), (1, 1)], "abc")


def test_clockwise_and_signed_area():
    """The unit square listed tl, tr, br, bl has area +1 (clockwise on screen);
    listed tl, bl, br, tr it is reversed to tl, tr, br, bl."""
    assert signed_area([(0, 0), (1, 0), (1, 1), (0, 1)]) == 1.0
    assert clockwise([(0, 0), (0, 1), (1, 1), (1, 0)]).tolist() == [[0, 0], [1, 0], [1, 1], [0, 1]]


def test_span_quad_of_whole_line_is_the_line():
    quad = [(1, 2), (11, 4), (10, 9), (0, 7)]
    approx_quad(span_quad(quad, 0.0, 1.0), quad)
