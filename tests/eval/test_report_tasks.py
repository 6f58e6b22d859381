import doctest
import importlib

import longweave.eval.report_tasks as report_tasks
from longweave.eval.report_tasks import citation_precision, make_report_corpus


def test_docstring_examples_run():
    assert doctest.testmod(report_tasks).failed == 0
    # the package's `rule_reporter` function shadows the module of that name
    assert doctest.testmod(importlib.import_module("longweave.eval.rule_reporter")).failed == 0


def test_corpus_is_reproducible_and_each_fact_sits_in_one_file_only():
    task = make_report_corpus(30, 5, seed=9)
    assert task == make_report_corpus(30, 5, seed=9)
    assert len(task.corpus) == 30 and len({f.file for f in task.facts}) == 5
    for fact in task.facts:
        assert [name for name, text in task.corpus.items() if fact.value in text] == [fact.file]


def test_precision_counts_only_citations_whose_passage_holds_the_sentence():
    corpus = {"a.txt": "Intro.\n\nThe Orla harbour moved 4,812 tonnes.", "b.txt": "Other things."}
    text = (
        "The Orla harbour moved 4,812 tonnes [a.txt, ¶2]. The Orla harbour moved 4,812 tonnes [a.txt, ¶1]. "
        "Other things [b.txt, ¶1]. Made up [c.txt, ¶1]. Unplaced [a.txt, ¶7].\n\n## Sources\n\n1. a.txt: ¶2"
    )
    assert citation_precision(text, corpus) == (0.4, 5)
    assert citation_precision("No citations at all.", corpus) == (1.0, 0)
