"""The llama.cpp loop stop (`stop_on_repeat`): pure logic, no model needed."""

from longweave.llm.llamacpp import _RepeatStop


def test_fires_when_the_newest_tokens_repeat_an_earlier_generated_span():
    stop = _RepeatStop(prompt_tokens=3, n=3)
    ids = [9, 9, 9]  # the prompt repeats itself: never counted
    fired_at = None
    for t in [1, 2, 3, 4, 1, 2, 3]:
        ids.append(t)
        if stop(ids, None):
            fired_at = len(ids) - 3
            break
    assert fired_at == 7 and stop.fired


def test_a_normal_reply_never_fires_even_when_asked_twice_at_the_end():
    stop = _RepeatStop(prompt_tokens=0, n=3)
    ids = []
    for t in [1, 2, 3, 4, 5, 6]:
        ids.append(t)
        assert not stop(ids, None)
    assert not stop(ids, None)  # llama-cpp-python's final check after the loop
    assert not stop.fired


def test_fires_as_soon_as_the_reply_copies_a_span_of_a_known_text():
    """A small model asked to continue often restates what it was shown: stop it at once."""
    stop = _RepeatStop(prompt_tokens=0, n=3, known=[7, 8, 9, 10, 11])
    ids = []
    for t in [1, 2, 8, 9, 10, 12]:
        ids.append(t)
        if stop(ids, None):
            break
    assert stop.fired and len(ids) == 5
