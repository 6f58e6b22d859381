from longweave.llm import render_plain


def test_base_model_prompt_ends_with_an_open_response():
    text = render_plain([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert text == "### Instructions\nBe brief.\n\n### Input\nHi\n\n### Response\n"


def test_trailing_assistant_message_is_continued():
    text = render_plain([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "The answer"}])
    assert text.endswith("### Response\nThe answer")
