"""A secret echoed back in pieces is blanked wherever it completes, and the text around it
arrives whole, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from troubleshooter.probe.record import SECRET_PLACEHOLDER, Event
from troubleshooter.probe.split_secrets import SplitSecretGuard

SECRET = "sk-split-0123456789"


def pass_through(guard: SplitSecretGuard, pieces: list[str]) -> list[Event]:
    passed: list[Event] = []
    for piece in pieces:
        passed += guard.take(Event("content", 0.0, piece))
    return passed + guard.flush()


def test_a_secret_cut_into_single_characters_never_shows_and_the_rest_is_kept():
    text = f"your key is {SECRET}, keep it"
    passed = pass_through(SplitSecretGuard([SECRET]), list(text))
    joined = "".join(event.text for event in passed)
    assert joined == f"your key is {SECRET_PLACEHOLDER}, keep it"
    assert len(passed) == len(text)  # no event lost
    assert not any("sk-split" in event.text or "0123" in event.text for event in passed)


def test_text_that_cannot_become_a_secret_is_passed_on_at_once():
    guard = SplitSecretGuard([SECRET])
    assert [event.text for event in guard.take(Event("content", 0.0, "hello "))] == ["hello "]
    assert guard.take(Event("content", 0.0, "world s")) == []  # "s" may start the secret
    assert [event.text for event in guard.take(Event("content", 0.0, "o"))] == ["world s", "o"]


@given(
    st.lists(st.sampled_from(["a", "b ", "sk-", "sk-split", SECRET, "0123456789", "-", "x"]), max_size=12),
    st.data(),
)
@settings(max_examples=500, deadline=None)
def test_however_the_text_is_cut_the_joined_text_is_the_original_with_every_secret_blanked(parts, data):
    text = "".join(parts)
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=max(len(text) - 1, 1)), max_size=10)))
    bounds = [0, *[cut for cut in cuts if cut < len(text)], len(text)]
    pieces = [text[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    passed = pass_through(SplitSecretGuard([SECRET]), pieces)
    joined = "".join(event.text for event in passed)
    assert SECRET not in joined
    assert joined == text.replace(SECRET, SECRET_PLACEHOLDER)
    assert len(passed) == len(pieces)
