from longweave.agents.worker import carry_forward
from longweave.text import get_tokenizer

count = get_tokenizer().count
Q = "In which town does the keeper of the amber lantern live?"


def test_facts_the_worker_dropped_are_carried_into_the_new_notes():
    previous = "The amber lantern is kept by Zorvath."
    unit = "Zorvath lives in the town of Quillmere."
    assert carry_forward(previous, unit, Q, 200, count) == f"{previous}\n{unit}"


def test_facts_the_worker_kept_are_not_repeated():
    previous = "The amber lantern is kept by Zorvath."
    unit = "Zorvath keeps the amber lantern. Zorvath lives in the town of Quillmere."
    assert carry_forward(previous, unit, Q, 200, count) == unit


def test_a_reply_that_found_nothing_keeps_the_previous_notes():
    previous = "The amber lantern is kept by Zorvath."
    assert carry_forward(previous, "No relevant information in this part.", Q, 200, count) == previous
    assert carry_forward("", "Nothing relevant.", Q, 200, count) == ""


def test_over_budget_the_pieces_least_about_the_question_go_first():
    previous = "The amber lantern is kept by Zorvath.\nBread was baked on Tuesdays in the old mill."
    unit = "Zorvath lives in the town of Quillmere."
    out = carry_forward(previous, unit, Q, count(f"The amber lantern is kept by Zorvath.\n{unit}"), count)
    assert out == f"The amber lantern is kept by Zorvath.\n{unit}"
