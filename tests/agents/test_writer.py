import re

import pytest

from longweave.agents.summarizer import Summarizer
from longweave.agents.writer import (
    CJK_TOKENS_PER_CHAR,
    LengthPolicy,
    SectionFailed,
    Writer,
    clean,
    cut_at_sentence,
    failure_reason,
    join,
)
from longweave.llm import Completion, ScriptedLLM
from longweave.prompts import load_prompt
from longweave.text import count_words

VARS = {
    "instruction": "Write.",
    "plan": "1. A",
    "written": "",
    "number": 1,
    "total": 1,
    "title": "A",
    "point": "a",
}


def test_cut_at_sentence_keeps_whole_sentences_near_the_budget():
    text = " ".join(f"Sentence {i} has five words." for i in range(40))  # 200 words
    cut = cut_at_sentence(text, 100)
    assert cut.endswith("words.") and 80 <= count_words(cut) <= 100
    run_on = "word " * 300
    assert count_words(cut_at_sentence(run_on, 100)) == 100 and cut_at_sentence(run_on, 100).endswith(".")
    assert cut_at_sentence("Short one.", 100) == "Short one."


def test_clean_drops_echoed_headings_and_repeated_sentences():
    raw = "### Response\n## My title\nThe sea was calm today. The sea was calm today.\n\nBirds flew over it."
    assert clean(raw) == "The sea was calm today.\n\nBirds flew over it."
    assert clean("The sea was calm today. New words here now.", seen="The sea was calm today.") == (
        "New words here now."
    )


@pytest.mark.parametrize(
    "text, bad",
    [("", True), ("  \n ", True), ("123 456", True), ("Error: Max tries. Failed.", True),
     ("I'm sorry, but I can't help with that.", True), ("The error was mine, she said.", False)],
)  # fmt: skip
def test_failure_reason(text, bad):
    assert (failure_reason(text) is not None) == bad


def test_join_continues_mid_sentence_or_as_a_new_paragraph():
    assert join("It was", "late.") == "It was late."
    assert join("It was late.", "Then") == "It was late.\n\nThen"


def _writer(llm, **kw):
    return Writer(llm, load_prompt("writer"), load_prompt("writer_continue"), **kw)


async def test_writer_continues_until_near_budget_and_counts_calls():
    replies = iter(["One two three four five six seven eight nine ten."] + [
        f"Part {i} adds more words to the text here." for i in range(20)
    ])  # fmt: skip
    llm = ScriptedLLM(lambda m: next(replies))
    out = await _writer(llm).write(VARS, 40, label="section 1")
    assert out.words >= 0.85 * 40 and out.continues == out.calls - 1 >= 3
    assert "ends with:" in llm.prompts[1] and "One two three" in llm.prompts[1]


async def test_writer_asks_for_least_tokens_and_a_new_seed_each_call():
    seen = []

    class Recorder(ScriptedLLM):
        async def generate(self, messages, **params):
            seen.append((params["min_tokens"], params["max_tokens"], params["seed"]))
            return await super().generate(messages, **params)

    replies = iter(["Short start.", "More words to reach it now.", "And yet more words here to end."])
    await _writer(Recorder(lambda m: next(replies))).write(VARS, 10, label="s")
    policy = LengthPolicy()
    assert seen[0] == (policy.least_tokens(10), policy.max_tokens(10), 0)
    assert [s[2] for s in seen] == list(range(len(seen))) and len(seen) >= 2


async def test_writer_keeps_written_text_when_only_continuations_fail():
    replies = iter(["A first sentence of the section.", "", "", ""])
    out = await _writer(ScriptedLLM(lambda m: next(replies))).write(VARS, 100, label="s")
    assert out.text == "A first sentence of the section." and out.retries == 2


async def test_writer_raises_section_failed_naming_the_section():
    llm = ScriptedLLM(default="Error: rate limited")
    with pytest.raises(SectionFailed, match=r"section 7 could not be written.*3 tries"):
        await _writer(llm).write(VARS, 100, label="section 7")


async def test_max_tokens_is_sized_from_words_and_capped_by_the_window():
    llm = ScriptedLLM(default="Fine text here.", context_window=400)
    await _writer(llm, policy=LengthPolicy(max_continues=0)).write(VARS, 1000, label="s")
    prompt_tokens = llm.count_tokens(llm.calls[0])
    assert LengthPolicy().max_tokens(1000) == 1696
    assert _writer(llm)._fit(llm.calls[0], 1696, "s") == 400 - prompt_tokens - 16


async def test_summarizer_is_bounded_and_falls_back_to_extractive():
    llm = ScriptedLLM(default=Completion("x " * 500, finish_reason="length"))
    s = Summarizer(llm, load_prompt("summarizer"), max_tokens=50)
    section = "\n\n".join(f"Paragraph {i} opens here. Then it goes on and on." for i in range(60))
    out = await s.update("", "Title", section)
    assert llm.count_tokens(out) <= 50 and "Paragraph 59 opens here." in out
    good = Summarizer(ScriptedLLM(default="A fox ran."), load_prompt("summarizer"))
    assert await good.update("", "T", "The fox ran far.") == "A fox ran."


# -- instruct models: stop early, repeat themselves, echo the prompt ---------------------------


async def test_a_model_that_restates_instead_of_continuing_is_asked_for_a_new_passage():
    """Same prompt, same reply (the model ignores the seed): when continuing in place only gets
    the last sentences back, the next call asks differently, and the section reaches its budget."""
    opening = "The keeper climbed the stairs at dusk. The lamp was cold and the glass was dark."

    def reply(messages):
        p = messages[-1]["content"]
        if "ends with:" not in p:
            return opening
        if "new passage" in p:
            k = p.count("Gulls") + len(re.findall(r"\d+", p))
            return " ".join(
                f"Gulls circled the rock for the {k}th time and number {i} cried out." for i in range(8)
            )
        return opening  # "continuing" by restating what is there, which cleaning removes

    llm = ScriptedLLM(reply)
    out = await _writer(llm).write(VARS, 60, label="s")
    assert out.words >= 0.85 * 60
    assert all(
        a != b for a, b in zip(llm.prompts, llm.prompts[1:], strict=False)
    )  # no re-ask repeats the last prompt
    assert out.text.count("The keeper climbed the stairs at dusk.") == 1


def test_our_own_prompt_wording_plan_lines_and_headings_never_reach_the_text():
    writer = _writer(ScriptedLLM(default="x"))
    reply = (
        "## The storm\nThe wind rose over the bay. This section continues from where it stops, with "
        "about 968 more words.\n2. The rescue (400 words): the boat comes back\nWord Count: 300\n\n"
        "Now I will write section 3 of 8 as asked. Output only the prose of this section: no title. "
        "The boat came home at dawn."
    )
    assert (
        clean(reply, scaffold=writer.scaffold) == "The wind rose over the bay.\n\nThe boat came home at dawn."
    )
    assert clean("# Dear Ana\nThanks for the tour.", headings=True).startswith("# Dear Ana")


def test_sentences_of_earlier_sections_are_not_written_again():
    earlier = "## One\n\nThe harbor was quiet in the morning. Boats rocked at their moorings."
    again = "The harbor was quiet in the morning. Boats rocked at their moorings. A bell rang twice."
    assert clean(again, seen=earlier) == "A bell rang twice."


async def test_a_chinese_instruction_sizes_tokens_per_character():
    seen = []

    class Recorder(ScriptedLLM):
        async def generate(self, messages, **params):
            seen.append(params["min_tokens"])
            return await super().generate(messages, **params)

    llm = Recorder(default="西湖" * 500)
    await _writer(llm).write({**VARS, "instruction": "写一篇800字的短文，介绍西湖。"}, 800, label="s")
    assert seen[0] == LengthPolicy().least_tokens(800, CJK_TOKENS_PER_CHAR) < LengthPolicy().least_tokens(800)


def test_a_line_already_written_is_not_written_again():
    seen = "Thank you for everything.\n\nSincerely,\n[Your Name]"
    again = "Sincerely,\n[Your Name]\n[Your Wedding Date]\n[Your Wedding Date]\nWe will visit in May."
    assert clean(again, seen=seen) == "[Your Wedding Date]\nWe will visit in May."


def test_a_section_title_written_as_a_plain_line_or_prefix_is_dropped():
    titles = ("Finding the Message", "Opening the Bottle")
    reply = (
        "Finding the Message\nThe keeper walked the shore at dawn.\n\n"
        "**Opening the Bottle:** The cork came out with a pop.\n"
        "Finding the Message: Opening the Bottle: He unrolled the paper."
    )
    assert clean(reply, titles=titles) == (
        "The keeper walked the shore at dawn.\n\nThe cork came out with a pop. He unrolled the paper."
    )
    # a sentence that only starts with a title's words is prose, not a title
    assert (
        clean("Opening the bottle took him an hour.", titles=titles) == "Opening the bottle took him an hour."
    )


async def test_the_writer_drops_the_section_title_a_model_opens_with():
    llm = ScriptedLLM(default="The Storm\nThe wind rose over the bay and the boats came in. " * 1)
    written = await _writer(llm).write({**VARS, "title": "The Storm"}, 12, label="s", titles=("The Storm",))
    assert not written.text.startswith("The Storm")
    assert written.text.startswith("The wind rose")


def test_the_context_frames_and_short_prompt_sentences_never_reach_the_text():
    writer = _writer(ScriptedLLM(default="x"))
    reply = (
        "Nothing is written yet: this is the first section. The keeper woke early.\n\n"
        "The previous section ends with:\nIt stopped too early. This section will be the second one "
        "of four sections written so far. He climbed the stairs."
    )
    assert clean(reply, scaffold=writer.scaffold) == "The keeper woke early.\n\nHe climbed the stairs."
    # a short sentence of the story that shares words with a prompt is kept
    assert clean("He stopped early. The section ends here.", scaffold=writer.scaffold).startswith(
        "He stopped"
    )


async def test_a_reply_cut_by_the_repeat_stop_keeps_whole_sentences_only():
    class Looping(ScriptedLLM):
        async def generate(self, messages, **params):
            c = await super().generate(messages, **params)
            return Completion(c.text, c.prompt_tokens, c.completion_tokens, finish_reason="repetition")

    llm = Looping(default="The boat came in at dusk. The crew tied it up and went home and the")
    written = await _writer(llm).write(VARS, 14, label="s")
    assert written.text == "The boat came in at dusk."  # not "... and went home and the"


def test_a_chat_assistants_talk_is_not_prose_of_the_piece():
    # what Qwen2.5-0.5B wrote when asked to continue a story section (story-1500 trace)
    reply = (
        "The keeper climbed the stairs. I'm glad you found the information helpful! If you have "
        "any other questions, feel free to ask.\n\nI'm sorry, but I can't assist with that. "
        '#SafetyResponse #SafetyPrecautions #SafetyRescue\n\n"Thank you," she said, and smiled. '
        "I'm here to assist. The next section ends with: the keeper. Happy writing! Continuing "
        "section 1 of our article, on walking. Aquí tienes la sección 1 del artículo."
    )
    assert clean(reply) == 'The keeper climbed the stairs.\n\n"Thank you," she said, and smiled.'


async def test_a_section_that_copies_the_instruction_loses_that_sentence():
    instruction = (
        "Schreibe einen Brief von etwa 400 Wörtern an einen alten Freund, in dem du von deinem "
        "Umzug erzählst."
    )
    llm = ScriptedLLM(default=f"{instruction} Lieber Jonas, ich wohne jetzt in Hamburg, nah am Hafen.")
    writer = Writer(
        llm, load_prompt("writer"), load_prompt("writer_continue"), policy=LengthPolicy(max_continues=0)
    )
    variables = {"instruction": instruction, "plan": "1. Brief (400 words)", "written": "",
                 "number": 1, "total": 1, "title": "Brief", "point": "der Umzug"}  # fmt: skip
    out = await writer.write(variables, 12, label="section 1", quoting=instruction)
    assert "Write about 12 words, in German, the language of the writing instruction" in llm.prompts[0]
    assert out.text == "Lieber Jonas, ich wohne jetzt in Hamburg, nah am Hafen."
    kept = await writer.write(variables, 12, label="section 1")  # without `quoting` it is prose
    assert kept.text.startswith("Schreibe einen Brief")


def test_a_short_sentence_looping_in_one_reply_is_kept_once():
    # the 0.5B's section 4 of a story: "In a bottle." five times in a row
    assert clean("In a bottle. In a bottle. In a bottle. He left.") == "In a bottle. He left."
    # across sections a short sentence may recur
    assert clean("He smiled. They left.", seen="She waved. He smiled.") == "He smiled. They left."


def test_a_story_may_name_its_subject_in_the_instructions_words():
    instruction = "Write a 10000-word adventure story about a voyage across the Pacific on a raft."
    reply = (
        "Their voyage across the Pacific on a raft began at dawn. "
        "Write a 10000-word adventure story about a voyage."
    )
    assert clean(reply, quoting=instruction) == "Their voyage across the Pacific on a raft began at dawn."
