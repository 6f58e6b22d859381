import pytest

from longweave.eval.qa import contains_answer, exact_match, f1_score, normalize_answer, qa_scores


def test_normalisation_follows_squad():
    assert normalize_answer("  The Eiffel-Tower, in Paris! ") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"


def test_exact_match_takes_the_best_gold():
    assert exact_match("the Oslo", ["Bergen", "oslo."]) == 1.0
    assert exact_match("Oslo, Norway", "Oslo") == 0.0


def test_f1_counts_overlapping_tokens():
    assert f1_score("in the town of Oslo", "Oslo") == pytest.approx(2 * (1 / 4) * 1 / (1 / 4 + 1))
    assert f1_score("Oslo", "Oslo") == 1.0
    assert f1_score("Bergen", "Oslo") == 0.0
    assert f1_score("", "") == 1.0 and f1_score("x", "") == 0.0


def test_contains_answer_matches_whole_words_of_a_chatty_reply():
    reply = "Based on the passage, the answer is ember-1234."
    assert exact_match(reply, "ember-1234") == 0.0 and contains_answer(reply, "ember-1234") == 1.0
    assert contains_answer("The maxsize is 128.", ["12", "128"]) == 1.0
    assert contains_answer("The maxsize is 128.", "12") == 0.0  # not inside a longer number
    assert contains_answer("Mersenne Twister", "the Mersenne Twister") == 1.0  # articles dropped
    assert contains_answer("anything", "") == 0.0
    assert contains_answer("lru_cache(maxsize=None)", "None") == 1.0  # code: punctuation breaks words
    assert contains_answer("lru_cache(maxsize=None)", "lru_cache") == 1.0


def test_qa_scores_average_and_check_lengths():
    scores = qa_scores(["Oslo", "nope"], ["oslo", "Bergen"])
    assert scores == {"exact_match": 0.5, "f1": 0.5}
    with pytest.raises(ValueError):
        qa_scores(["a"], [])


def test_docstring_examples_of_the_reading_modules_run():
    import doctest
    import importlib

    for name in (
        "longweave.eval.qa",
        "longweave.eval.needles",
        "longweave.eval.rule_reader",
        "longweave.pipelines.chain_of_agents",
        "longweave.pipelines.full_context",
        "longweave.memory.passage_index",
        "longweave.pipelines.rag",
        "longweave.pipelines.retrieve_then_reason",
        "longweave.text.documents",
    ):
        module = importlib.import_module(name)
        assert doctest.testmod(module).failed == 0, name
