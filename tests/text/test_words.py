from longweave.text import count_words, get_tokenizer


def test_latin_words_contractions_and_hyphens():
    assert count_words("Don't stop: a well-known, 3-part plan!") == 6


def test_each_cjk_character_is_a_word():
    assert count_words("我喜欢读书") == 5
    assert count_words("Hello 世界 and こんにちは") == 2 + 2 + 5
    assert count_words("서울은 크다") == 5


def test_markup_and_numbers():
    assert count_words("## Title\n\n* item one\n| a | b |") == 5
    assert count_words("") == 0
    assert count_words("In 2024, 10,000 words.") == 5


def test_offline_tokenizer_counts_like_cl100k():
    tok = get_tokenizer()
    assert tok.encode("hello world") == [15339, 1917]
    assert tok.decode(tok.encode("naïve 😀 text")) == "naïve 😀 text"
