import pytest

from longweave.errors import InputError
from longweave.eval import length_score


@pytest.mark.parametrize(
    "required, produced, score",
    [
        (1000, 1000, 100.0),
        (1000, 1300, 90.0),  # over: 1 - 0.3/3
        (1000, 4000, 0.0),  # four times over is zero
        (1000, 9000, 0.0),
        (1000, 800, 87.5),  # under: 1 - 0.25/2
        (1000, 500, 50.0),
        (900, 300, 0.0),  # a third is zero
        (1000, 0, 0.0),
    ],
)
def test_length_score_matches_the_longbench_write_formula(required, produced, score):
    assert length_score(required, produced) == pytest.approx(score)


def test_length_score_counts_words_of_a_text():
    assert length_score(4, "one two three four") == 100.0
    assert length_score(2, "你好") == 100.0


@pytest.mark.parametrize("required, produced", [(0, 10), (-5, 10), (10, -1), ("10", 10)])
def test_bad_lengths_are_input_errors(required, produced):
    with pytest.raises(InputError):
        length_score(required, produced)
