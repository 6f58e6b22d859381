import time

import pytest

from longweave.errors import ConfigError
from longweave.eval.needles import make_needle_task, needle_suite, solve
from longweave.eval.rule_reader import key_terms


def test_needles_sit_at_their_depths_and_answer_the_question(tokenizer):
    task = make_needle_task(20_000, hops=2, depths=(0.2, 0.7), seed=4)
    assert abs(task.tokens - 20_000) < 0.03 * 20_000
    assert task.tokens == tokenizer.count(task.document)
    for needle, depth in zip(task.needles, (0.2, 0.7), strict=True):
        assert task.document[needle.start : needle.start + len(needle.text)] == needle.text
        assert abs(needle.start / len(task.document) - depth) < 0.02
    assert solve(task.question, task.document) == task.answer
    # Either half alone does not answer: the bridge is needed.
    assert solve(task.question, task.needles[0].text) is None
    assert solve(task.question, task.needles[1].text) is None


def test_one_hop_has_distractors_that_do_not_answer():
    task = make_needle_task(5_000, hops=1, depths=0.9, seed=2, distractors=3)
    assert len(task.distractors) == 3
    assert all(solve(task.question, d.text) is None for d in task.distractors)
    assert solve(task.question, task.needles[0].text) == task.answer


def test_deterministic_by_seed():
    a, b = make_needle_task(4_000, seed=7), make_needle_task(4_000, seed=7)
    c = make_needle_task(4_000, seed=8)
    assert a.document == b.document and a.answer == b.answer
    assert a.document != c.document


def test_filler_shares_no_word_with_the_questions():
    task = make_needle_task(6_000, hops=2, seed=3)
    hay = task.document
    for n in task.needles + task.distractors:
        hay = hay.replace(n.text, "")
    words = set(hay.lower().replace(".", " ").replace(",", " ").split())
    assert not key_terms(task.question) & words


def test_suite_and_bad_arguments():
    tasks = needle_suite([2_000], depths=(0.1, 0.9), hops=(1, 2))
    assert [t.hops for t in tasks] == [1, 1, 2, 2]
    with pytest.raises(ConfigError):
        make_needle_task(1_000, hops=3)
    with pytest.raises(ConfigError):
        make_needle_task(1_000, hops=2, depths=(0.5,))


def test_a_100k_token_task_takes_seconds_at_most():
    started = time.monotonic()
    task = make_needle_task(100_000, seed=1)
    assert time.monotonic() - started < 10  # generous; typically about 0.4 s
    assert task.tokens > 97_000
