"""The planner: a writing instruction in, a plan of sections with word budgets out.

After LongWriter (Bai et al., 2024, "LongWriter: Unleashing 10,000+ Word Generation from Long
Context LLMs"), AgentWrite step I: the model breaks the instruction into paragraph-sized
sections, each with a main point and a word count (``agents/plan.py`` holds the plan and its
budgets). The reply is read by the tolerant parser (``agents/plan_parser.py``); a reply that
yields no usable section, is off topic, or has one section for a piece several sections long
is sent back to the model with the problem named, a bounded number of times; when that fails
too (a small base model often cannot plan), `derive_plan` builds a sensible plan from the
instruction alone and the fallback is recorded in the trace. Budgets are then normalised so
they add up to the target exactly.

Where the backend can constrain its reply to a JSON Schema (`LLM.supports_json_schema`:
llama.cpp grammars, vLLM structured outputs, OpenAI ``json_schema``), the plan is asked for as
JSON of `plan_schema`, so a small model cannot garble its shape; the tolerant parser stays for
every other backend.

Deliberately not here: writing (``agents/writer.py``) and the graph (``pipelines/agentwrite.py``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from longweave.agents.plan import (
    MAX_SECTION_WORDS,
    MIN_SECTION_WORDS,
    WORDS_PER_SECTION,
    Section,
    check_target,
    derive_plan,
    normalize_plan,
    render_plan,
    target_from_instruction,
)
from longweave.agents.plan_parser import read_plan
from longweave.errors import ConfigError, MalformedOutput
from longweave.llm import LLM, Trace
from longweave.llm.usage import record_event
from longweave.prompts import PromptTemplate


@dataclass(slots=True)
class PlanOutcome:
    """What planning produced.

    Attributes:
        sections: the normalised plan.
        source: "model", "repaired" (after a re-ask), "fallback" (derived) or "user".
        target_words: the length the budgets add up to.
        problems: why each rejected reply was rejected, in order.
    """

    sections: list[Section]
    source: str
    target_words: int
    problems: list[str]


class Planner:
    """Asks the model for a plan, re-asks with the problem named, falls back to `derive_plan`.

    Args:
        llm: the model.
        prompt: the planning prompt (variables: instruction, target_words, sections).
        repair_prompt: the re-ask prompt (variables: instruction, target_words, reply, problem).
        max_repairs: re-asks after the first reply (default 1; small models rarely recover).
        temperature: sampling temperature for planning.
        max_section_words: split sections above this (the paper's 1,000).
        section_words: the section size the plan aims for (`WORDS_PER_SECTION`, 500, the middle
            of the paper's range): the suggested number of sections is the length over it, and
            no section may be asked for more than twice it. A small model writes a 300-word
            section reliably and stops short of a 600-word one, so `AgentWrite` lowers it for
            models run on this machine's CPU.
    """

    def __init__(
        self,
        llm: LLM,
        prompt: PromptTemplate,
        repair_prompt: PromptTemplate,
        *,
        max_repairs: int = 1,
        temperature: float = 0.5,
        max_section_words: int = MAX_SECTION_WORDS,
        section_words: int = WORDS_PER_SECTION,
    ) -> None:
        if section_words < 1:
            raise ConfigError(f"section_words must be at least 1, not {section_words}.")
        self.llm = llm
        self.prompt = prompt
        self.repair_prompt = repair_prompt
        self.max_repairs = max_repairs
        self.temperature = temperature
        self.max_section_words = max_section_words
        self.section_words = section_words

    async def plan(
        self, instruction: str, target_words: int | None = None, *, trace: Trace | None = None
    ) -> PlanOutcome:
        """Plan `instruction`; `target_words` defaults to the length the instruction states.

        When neither gives a length, the model is asked to choose one that suits the form and
        its budgets set it (or `section_words` times its section count, or 2,000 words for
        a derived plan).
        """
        stated = target_words if target_words is not None else target_from_instruction(instruction)
        if stated is not None:
            check_target(stated)
        suggested = max(1, round((stated or 2000) / self.section_words))
        largest = min(self.max_section_words, 2 * self.section_words)
        schema = (
            plan_schema(suggested, stated=stated is not None)
            if getattr(self.llm, "supports_json_schema", False)
            else None
        )
        # A plan line is 20-50 tokens; a JSON entry, with its keys, up to 90 (a cut reply keeps its
        # complete entries).
        max_tokens = min(4096, 100 * suggested + 160 if schema else 60 * suggested + 120)
        asks = {
            "instruction": instruction,
            "length": length_rule(stated, suggested, largest),
            "answer_format": JSON_FORMAT if schema else LINES_FORMAT,
            "target_words": stated or "about 2000",  # for prompt overrides written before `length`
        }
        problems: list[str] = []
        messages = self.prompt.render(**asks, sections=suggested)
        for attempt in range(self.max_repairs + 1):
            reply = await self.llm.complete(
                messages,
                role="planner",
                trace=trace,
                max_tokens=max_tokens,
                temperature=self.temperature,
                **({"json_schema": schema} if schema else {}),
            )
            try:
                reading = read_plan(reply.text)
                sections = reading.sections
                check_on_topic(sections, instruction)
                if stated and (undone := undo_running_totals(sections, stated)) is not None:
                    sections = undone
                    reading.repairs.append("its word counts were running totals; taken as differences")
                check_shape(sections, stated, largest)
                target = stated or sum(s.words for s in sections) or self.section_words * len(sections)
                sections = normalize_plan(sections, target, max_section_words=largest)
                problems += reading.repairs
                clean = attempt == 0 and not reading.repairs
                return PlanOutcome(sections, "model" if clean else "repaired", target, problems)
            except MalformedOutput as exc:
                problems.append(str(exc))
                messages = self.repair_prompt.render(
                    **asks, reply=reply.text.strip() or "(nothing)", problem=str(exc)
                )
        target = stated or 2000
        sections = derive_plan(instruction, target, section_words=self.section_words)
        record_event(trace, "planner", "fallback_plan", render_plan(sections), reason="; ".join(problems))
        return PlanOutcome(sections, "fallback", target, problems)


LINES_FORMAT = """Answer with one section per line, in exactly this format, and nothing else:
1. Title: ... - Main Point: ... - Word Count: ... words
2. Title: ... - Main Point: ... - Word Count: ... words"""
# Placeholders that describe each field: Qwen2.5-0.5B held to the schema copied an example's
# "..." as every title.
JSON_FORMAT = (
    "Answer in JSON, in exactly this shape, with your own titles, points and counts:\n"
    '{"sections": [{"title": "<2-6 words naming the part>", "main_point": "<what happens or is '
    'said in it>", "words": <number>}, ...]}'
)


def length_rule(stated: int | None, sections: int, max_section_words: int = MAX_SECTION_WORDS) -> str:
    """The planning prompt's sentence on word counts, consistent with the length asked.

    A stated length is the sum the counts must reach, with a per-section range that this sum
    can meet (the paper's 200-1,000 words, lowered for a short piece); without one, the model
    chooses a length that suits the form.
    """
    if stated is None:
        return (
            "The instruction states no length: choose the total that suits what it asks for "
            f"(a short email is about 150 words, a long essay several thousand), with sections of "
            f"at most {max_section_words} words."
        )
    low = min(MIN_SECTION_WORDS, max(20, stated // max(1, sections)))
    return (
        f"The word counts must add up to {stated} words in all, each section between {low} and "
        f"{min(max_section_words, max(low, stated))} words."
    )


def plan_schema(sections: int, *, stated: bool = False) -> dict:
    """The JSON Schema a constrained backend holds a plan to: about `sections` entries, each a
    short title, a main point and a word count (bounds keep a small model from running on).

    Where the length is stated (`stated`), at least three quarters of `sections` entries are
    required: a small model otherwise plans a 1,500-word story as three long sections it then
    cannot write to length.
    """
    least = max(1, math.ceil(0.75 * sections)) if stated else 1
    return {
        "type": "object",
        "properties": {
            "sections": {
                "type": "array",
                "minItems": least,
                "maxItems": max(4, 2 * sections),
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 2, "maxLength": 80},
                        "main_point": {"type": "string", "minLength": 10, "maxLength": 250},
                        "words": {"type": "integer", "minimum": 10, "maximum": 5000},
                    },
                    "required": ["title", "main_point", "words"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["sections"],
        "additionalProperties": False,
    }


def undo_running_totals(sections: list[Section], stated: int) -> list[Section] | None:
    """The plan with per-section counts, where the model wrote running totals; else None.

    Qwen2.5-0.5B planned a 10,000-word story as 27 sections "of" 1,600, 3,200, 4,800 ... 11,200
    words: each count the total so far. Scaled as they stand, its first sections got 60 words
    and its last ones 600. Counts that rise at every step, sum to far more than the length
    asked and end near it are read as running totals.
    """
    counts = [s.words for s in sections]
    if len(counts) < 3 or 0 in counts or any(b <= a for a, b in zip(counts, counts[1:], strict=False)):
        return None
    if sum(counts) < 1.5 * stated or not 0.5 * stated <= counts[-1] <= 1.5 * stated:
        return None
    steps = [counts[0]] + [b - a for a, b in zip(counts, counts[1:], strict=False)]
    return [Section(s.title, s.point, w) for s, w in zip(sections, steps, strict=True)]


def check_shape(
    sections: list[Section], stated: int | None, max_section_words: int = MAX_SECTION_WORDS
) -> None:
    """Reject a plan whose structure cannot be what was asked: one section for a piece several
    sections long (a small model's summary of the instruction, not a plan).

    Raises:
        MalformedOutput: naming how many sections the piece needs.
    """
    if stated and len(sections) == 1 and stated > 1.5 * max_section_words:
        need = math.ceil(stated / max_section_words)
        raise MalformedOutput(
            f"it has one section for {stated} words; break the piece into at least {need} sections "
            f"of at most {max_section_words} words"
        )


_GENERIC = set(
    "about into over under with from this that these those your their there which what when where "
    "write writes written writing compose draft create produce please make give tell words word "
    "long short detailed essay article piece story text report post blog".split()
)
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _topic_stems(text: str) -> set[str]:
    """Crude stems (first 5 letters) of the content words of `text`, for a topic overlap test."""
    return {w.lower()[:5] for w in re.findall(r"[^\W\d_]{4,}", text) if w.lower() not in _GENERIC}


def check_on_topic(sections: list[Section], instruction: str) -> None:
    """Reject a plan that shares no content word with a specific instruction.

    Small base models sometimes continue the planning prompt with an unrelated "plan" (the
    embedded 270M model once answered a history of tea with "Feedback: write a comment on the
    source code"). When the instruction names a subject (two or more content words) and no
    section mentions any of them, the plan is treated as malformed, so the planner re-asks and
    then falls back to a plan derived from the instruction. CJK instructions are not checked.

    Raises:
        MalformedOutput: naming the instruction words the plan should have used.
    """
    if _CJK_CHAR.search(instruction):
        return
    wanted = _topic_stems(instruction)
    if len(wanted) < 2:
        return
    got = _topic_stems(" ".join(f"{s.title} {s.point}" for s in sections))
    if not wanted & got:
        examples = sorted({w for w in re.findall(r"[^\W\d_]{4,}", instruction) if w.lower() not in _GENERIC})
        raise MalformedOutput(
            "the plan is off topic: no section mentions the instruction's subject "
            f"({', '.join(examples[:6])}); plan sections about that subject"
        )


__all__ = [
    "JSON_FORMAT",
    "LINES_FORMAT",
    "PlanOutcome",
    "Planner",
    "check_on_topic",
    "check_shape",
    "length_rule",
    "plan_schema",
    "undo_running_totals",
]
