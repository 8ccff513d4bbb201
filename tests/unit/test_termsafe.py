"""termsafe.clean: no control sequence from data reaches a terminal; readable text is kept."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdebug.termsafe import clean, is_clean

# Everything a terminal may act on, besides newline and tab.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("\x1b[31mERROR\x1b[0m done", "ERROR done"),  # colour (SGR)
        ("a\x1b[2J\x1b[Hb", "ab"),  # clear screen, cursor home
        ("a\x1b[?1049hb", "ab"),  # private-mode CSI (alternate screen)
        ("a\x9b31mb", "ab"),  # 8-bit CSI
        ("\x1b]0;pwned title\x07after", "after"),  # OSC window title, BEL-terminated
        ("\x1b]2;title\x1b\\after", "after"),  # OSC, ST-terminated
        ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink
        ("\x9d0;title\x9cafter", "after"),  # 8-bit OSC and ST
        ("\x1b]52;c;aGVsbG8=\x07x", "x"),  # OSC 52: write the clipboard
        ("\x1bP$q\"p\x1b\\x", "x"),  # DCS query (DECRQSS)
        ("\x1bP+q544e\x1b\\x", "x"),  # DCS XTGETTCAP
        ("\x90qdata\x9cx", "x"),  # 8-bit DCS
        ("\x1b_apc payload\x1b\\x", "x"),  # APC
        ("\x1b^pm\x1b\\x", "x"),  # PM
        ("\x1bXsos\x1b\\x", "x"),  # SOS
        ("\x1bcreset", "reset"),  # RIS: full reset
        ("\x1b(Bascii", "ascii"),  # designate G0 character set
        ("\x1b#8x", "x"),  # DECALN: fill the screen with E
        ("\x1b7saved\x1b8", "saved"),  # save/restore cursor
        ("secret\rinnocent", "secretinnocent"),  # a carriage return hiding the start
        ("line one\r\nline two\r\n", "line one\nline two\n"),
        ("abc\b\b\bxyz", "abcxyz"),  # backspaces overwriting text
        ("nul\x00bell\x07del\x7fvt\x0bff\x0c", "nulbelldelvtff"),
        ("keep\ttabs\nand newlines", "keep\ttabs\nand newlines"),
        ("evil\u202etxt.exe\u202c", "eviltxt.exe"),  # right-to-left override
        ("a\u2066b\u2069c\u200fd", "abcd"),  # bidi isolates and marks
        ("ünïcödé ✓ 日本 emoji 🎉", "ünïcödé ✓ 日本 emoji 🎉"),
    ],
)
def test_known_sequences_are_removed_and_text_kept(raw: str, want: str) -> None:
    assert clean(raw) == want
    assert is_clean(clean(raw))


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("\x1b]0;never ended", "0;never ended"),  # unterminated OSC: introducer gone, text inert
        ("\x1bPnever ended", "never ended"),
        ("\x1b[12", "12"),  # CSI cut short
        ("tail\x1b", "tail"),
        ("\x9d\x9d\x9dx", "x"),
        ("\x1b\x1b[31mx", "x"),
    ],
)
def test_unterminated_sequences_lose_their_introducer(raw: str, want: str) -> None:
    assert clean(raw) == want


def test_clean_text_is_returned_unchanged_and_fast_path_is_identity() -> None:
    text = "2026-11-21 10:00:00 UTC | CORE | ERROR | (forwarder.go:1) | boom\n"
    assert clean(text) is text


def test_hostile_runs_of_introducers_stay_linear() -> None:
    import time

    for unit in ("\x9d", "\x1b]", "\x90", "\x1bP", "\x1b[", "\x9b1;"):
        hostile = unit * 200_000 + "\nx"
        t0 = time.perf_counter()
        out = clean(hostile)
        assert time.perf_counter() - t0 < 2.0, repr(unit)
        assert is_clean(out) and out.endswith("x")


# --- properties ------------------------------------------------------------------------

# Text with no control characters at all: what must survive.
safe_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r")
    .filter(lambda c: not CONTROL.match(c)),
    max_size=30,
)
# Complete sequences, each of which must vanish whole.
_params = st.text(st.sampled_from("0123456789;:<=>?"), max_size=6)
_inter = st.text(st.sampled_from(" !\"#$%&'()*+,-./"), max_size=2)
_final = st.sampled_from([chr(c) for c in range(0x40, 0x7F)])
_osc_payload = st.text(
    st.characters(blacklist_categories=["Cs"]).filter(
        lambda c: c not in "\x07\x1b" and not 0x80 <= ord(c) <= 0x9F
    ),
    max_size=20,
)
_lone = st.sampled_from(
    [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x1B), *range(0x1C, 0x20), 0x7F]]
    + [chr(c) for c in range(0x80, 0xA0) if c not in (0x90, 0x98, 0x9B, 0x9D, 0x9E, 0x9F)]
    + ["\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069"]
)
sequence = st.one_of(
    st.builds(lambda i, p, m, f: i + p + m + f, st.sampled_from(["\x1b[", "\x9b"]), _params, _inter, _final),
    st.builds(
        lambda i, p, t: i + p + t,
        st.sampled_from(["\x1b]", "\x9d"]),
        _osc_payload,
        st.sampled_from(["\x07", "\x1b\\", "\x9c"]),
    ),
    st.builds(
        lambda i, p, t: i + p.replace("\x07", "") + t,
        st.sampled_from(["\x1bP", "\x1bX", "\x1b^", "\x1b_", "\x90", "\x98", "\x9e", "\x9f"]),
        _osc_payload,
        st.sampled_from(["\x1b\\", "\x9c"]),
    ),
    st.builds(
        lambda m, f: "\x1b" + m + f,
        _inter,
        st.sampled_from([chr(c) for c in range(0x30, 0x7F) if chr(c) not in "[]PX^_"]),
    ),
    _lone,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(safe_text, sequence), max_size=8), safe_text)
def test_sequences_vanish_and_the_text_around_them_is_kept(parts: list[tuple[str, str]], tail: str) -> None:
    raw = "".join(text + seq for text, seq in parts) + tail
    assert clean(raw) == "".join(text for text, _ in parts) + tail


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_input_comes_out_clean_and_cleaning_twice_changes_nothing(raw: str) -> None:
    out = clean(raw)
    assert not CONTROL.search(out), repr(out)
    assert clean(out) == out


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("\x1b\x9b\x9d\x90\x9c\x07[]P\\;0123m\r\n\tab"), max_size=60))
def test_dense_escape_soup_comes_out_clean(raw: str) -> None:
    out = clean(raw)
    assert not CONTROL.search(out), repr(out)
    # Nothing but control characters is ever removed: the rest keeps its order.
    kept = iter(raw)
    assert all(ch in kept for ch in out)
