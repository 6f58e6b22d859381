import pytest

from longweave.eval.writing_checks import language_share
from longweave.text.language import guess_language, write_in


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Schreibe einen Brief von etwa 400 Wörtern an einen alten Freund, in dem du erzählst.", "de"),
        ("Escribe un artículo de 700 palabras sobre los beneficios de caminar todos los días.", "es"),
        ("Écris une lettre à un ami pour lui dire que tu as déménagé dans le sud.", "fr"),
        ("写一篇800字的短文，介绍杭州西湖的四季景色。", "zh"),
        ("東京の春についてのエッセイを書いてください。", "ja"),
        ("Write a 1500-word short story about a lighthouse keeper who finds a message in a bottle.", "en"),
        ("Haiku, please", None),
    ],
)  # fmt: skip
def test_the_language_of_an_instruction_is_guessed(text, code):
    assert guess_language(text) == code


def test_the_writer_is_told_a_language_by_name_except_english():
    assert write_in("Escribe un artículo de 700 palabras sobre los beneficios de caminar.").startswith(
        "in Spanish"
    )
    assert write_in("Write a story about a fox.") == "in the language of the writing instruction"


def test_language_share_uses_the_same_function_words():
    assert language_share("Der Hund und die Katze sind nicht im Haus.", "de") == 1.0
    assert language_share("The dog and the cat are not in the house.", "de") == 0.0
