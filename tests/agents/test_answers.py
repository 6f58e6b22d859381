import pytest

from longweave.agents.answers import as_answer, echoes, extract_answer, is_unknown, restates


@pytest.mark.parametrize(
    ("reply", "query", "answer"),
    [
        ("Based on the passage, the answer is ember-1234.", None, "ember-1234"),
        ("Based on the provided passages, the answer is **128**.", None, "128"),
        ("Answer: `IndexError`", None, "IndexError"),
        ("The answer to the question is: rmtree.", None, "rmtree"),
        ('According to the text, "Mersenne Twister".', None, "Mersenne Twister"),
        ("The passage says that ensure_ascii defaults to True.", None, "ensure_ascii defaults to True"),
        (
            "The default maxsize of functools.lru_cache is 128.",
            "What is the default maxsize of functools.lru_cache?",
            "128",
        ),
        (
            "IndexError is raised.",
            "What exception does heapq.heappop raise when the heap is empty?",
            "IndexError",
        ),
        ("The period is 2**19937-1.", "What is the period of the generator?", "2**19937-1"),
        ("Based on the passages:\n\n- AttributeError\n- ValueError", None, "AttributeError and ValueError"),
        ("70\n\nExplanation: textwrap.wrap(text, width=70) sets it.", None, "70"),
    ],
)
def test_the_answer_phrase_is_read_out_of_a_chatty_reply(reply, query, answer):
    assert extract_answer(reply, query) == answer


def test_answers_that_are_sentences_of_the_docs_are_left_whole():
    q = "How long may a deque grow if maxlen is not specified?"
    reply = "If maxlen is not specified or is None, deques may grow to an arbitrary length."
    assert extract_answer(reply, q) == reply.rstrip(".")
    assert not is_unknown(reply)
    assert extract_answer("__init__") == "__init__"


@pytest.mark.parametrize(
    "reply",
    [
        "unknown",
        "Unknown.",
        "I don't know.",
        "Not mentioned.",
        "The passages do not mention the default width.",
        "There is no information in the passages about this.",
        "The evidence does not say what the code is.",
        "",
    ],
)
def test_refusals_are_unknown(reply):
    assert is_unknown(reply) and as_answer(reply) == "unknown"


@pytest.mark.parametrize("reply", ["IndexError", "None", "None if not given", "3.10", "one fewer"])
def test_answers_are_not_unknown(reply):
    assert not is_unknown(reply)


def test_short_refusals_in_other_words():
    assert is_unknown("It is not specified.") and is_unknown("Cannot be determined from this.")


def test_an_answer_copied_from_the_instructions_is_an_echo():
    instructions = "Reply with just the answer: a name, a number or a short phrase."
    assert echoes("a name", instructions, "If the heap is empty, IndexError is raised.")
    assert as_answer("A name.", "Q?", instructions=instructions, shown="IndexError") == "unknown"
    # Words the text shown holds are an answer, even if the instructions hold them too.
    assert not echoes("a number", instructions, "Set n to a number of intervals.")
    assert as_answer("IndexError", "Q?", instructions=instructions, shown="IndexError") == "IndexError"


@pytest.mark.parametrize(
    ("reply", "query"),
    [
        ("collections.Counter", "A collections.Counter is a subclass of which built-in type?"),
        (
            "the exception dataclasses.FrozenInstanceError",
            "dataclasses.FrozenInstanceError is a subclass of which exception?",
        ),
        ("csv.reader", "What is the name of the default dialect of csv.reader and csv.writer?"),
        (
            "bisect.insort runs first to locate an insertion point",
            "Which function does bisect.insort run first to locate an insertion point?",
        ),
    ],
)
def test_a_reply_naming_only_the_questions_subject_is_not_an_answer(reply, query):
    # Replies of the 0.5B Qwen2.5-Coder with the answer in its passages: a reader that took them
    # as answers never re-read the passages one at a time.
    assert restates(reply, query) and as_answer(reply, query) == "unknown"


@pytest.mark.parametrize(
    ("reply", "query"),
    [
        ("dict", "A collections.Counter is a subclass of which built-in type?"),
        (
            "contextlib.chdir",
            "Which was added in a later Python version: functools.cache or contextlib.chdir?",
        ),
        ("bisect_right", "Which function does bisect.insort run first to locate an insertion point?"),
    ],
)
def test_answers_and_chosen_alternatives_are_not_restatements(reply, query):
    assert not restates(reply, query) and as_answer(reply, query) == reply
