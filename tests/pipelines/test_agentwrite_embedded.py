"""AgentWrite on the embedded models: the instruct default (chat template, model plan, re-ask)
and the Gemma base model (plain prompts, extractive summaries, `stop_on_repeat`, no re-ask)."""

from __future__ import annotations

import pytest

from longweave import AgentWrite, load_llm

pytestmark = [pytest.mark.real, pytest.mark.slow]


@pytest.mark.parametrize("spec", ["local", "local:gemma-270m"])
def test_a_short_piece_lands_near_its_length_without_prompt_text(spec):
    llm = load_llm(spec, context_window=4096)
    try:
        plan = [{"title": "The keeper's morning", "words": 90}, {"title": "The storm", "words": 90}]
        result = AgentWrite(llm).run("Write a 180-word story about a lighthouse keeper.", plan=plan)
    finally:
        llm.close()
    assert 120 <= result.words <= 230, result.text
    assert "### " not in result.text and "more words" not in result.text
    assert result.usage.total.completion_tokens > 0
