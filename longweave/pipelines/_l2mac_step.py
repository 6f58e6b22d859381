"""L2MAC's agent loop: one instruction run by a fresh agent, top to bottom.

`InstructionLoop` is mixed into `longweave.pipelines.l2mac.L2MAC`, which owns the graph, the
planning and the run; here is what one step does (see that module's docstring for the rules:
what counts as done, re-asks, fix rounds, summarise-and-restart). Everything a run changes
lives in its `L2MACRun`, the LangGraph runtime context, so one pipeline can run twice at once.

Deliberately not here: tool execution (``longweave.agents.control_unit``), parsing
(``longweave.agents.tools``) and the best-of-n draws that replace fix rounds when
``samples`` > 1 (``longweave.pipelines._l2mac_sample``; this loop only decides when they run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from longweave.agents._fixes import fix_request, render_files
from longweave.agents.control_unit import CheckReport, Observation, Toolbox, check_work
from longweave.agents.prompt_program import headline, may_change_nothing, missing_files, named_files
from longweave.agents.tools import TOOL_SPECS, ToolCall, native_tool_calls, parse_reply, render_calls
from longweave.errors import BudgetError
from longweave.events import Event, EventHandler, Notice
from longweave.llm import Trace, Usage

MODE_HINT = {
    "code": "You write a Python codebase: modules in a package and pytest tests in test_*.py files. "
    "Every file must be complete, importable code.",
    "book": "You write a book in Markdown: one file per chapter (chapters/01_title.md, ...), plus "
    "outline.md. Keep names, facts and style consistent with the chapters already written.",
}
_CODE_TOOLS = "ACTION: run_tests\nACTION: run_python\npath: script.py\n"
_NO_ACTION = "No action found in your reply. Use the ACTION: format, and finish with ACTION: complete."
_NO_EFFECT = (
    "The control unit found that {found}, but this instruction asks for files "
    "to be written{what}. Write them now with write_file: the path, then the whole content in a fenced "
    "block. Then finish with ACTION: complete."
)
#: Headings of the agent's prompt: a small model that goes on to write them is inventing the
#: next prompt, so its reply is cut there.
_PROMPT_HEADINGS = ("\nAll instructions:", "\nSummary of the previous step:", "\nFiles in the store:",
                    "\nOverall task:", "(the current instruction)")  # fmt: skip
_WRITTEN = "The files of this instruction are written; if it is done, reply ACTION: complete."
_FIX_AGAIN = (
    "The check still fails and {target} was not rewritten: running or reading changes nothing. "
    "Reply with ACTION: write_file, path: {target}, and the whole corrected file in a fenced block."
)
_SAME = "\nYour last rewrite of {target} was identical to the file before it: the fault is still there.\n"
#: Headline prefix of the instructions the control unit adds after the planned ones.
REPAIR = "Repair: "
#: Characters of the check's feedback (pytest's output) a fix request shows.
_FEEDBACK_CHARS = 3000


@dataclass
class L2MACRun:
    """What one L2MAC run shares (LangGraph runtime context; never kept on the pipeline).

    Attributes:
        toolbox: executes the agents' tool calls on the store, and remembers this run's writes
            and sandbox runs.
        trace, usage: this run's model calls.
        on_event: the caller's event handler.
        dropped: planned steps this run's planning left out.
    """

    toolbox: Toolbox
    trace: Trace = field(default_factory=Trace)
    usage: Usage = field(default_factory=Usage)
    on_event: EventHandler | None = None
    dropped: list[str] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)


class InstructionLoop:
    """The agent loop of one instruction (mixed into `L2MAC`, whose settings it reads)."""

    def _fresh_messages(
        self, run: L2MACRun, state: dict, index: int, progress: str, start: bool = True
    ) -> list[dict]:
        registry = state["registry"]
        return self.prompt("l2mac_agent").render(
            mode_hint=MODE_HINT[self.mode],
            extra_tools=_CODE_TOOLS if self.mode == "code" else "",
            task=state["task"],
            index=index + 1,
            count=len(registry),
            instruction=registry[index],
            start=_start_hint(registry[index]) if start else "",
            registry="\n".join(f"{i + 1}. {headline(r)}" for i, r in enumerate(registry)),
            files=run.toolbox.listing(),
            previous=state.get("previous") or "(this is the first step)",
            progress=f"\nProgress so far on this instruction (the step was restarted):\n{progress}"
            if progress
            else "",
        )

    def _fix_messages(
        self, run: L2MACRun, state: dict, index: int, report: CheckReport, same: str = ""
    ) -> tuple[list[dict], str]:
        """A fresh context for a step that failed its check: the instruction, then the failure,
        the files at fault and the one file to rewrite (`longweave.agents._fixes`). Returns the
        messages and that file. `same` names a file the last fix rewrote without a change."""
        request = fix_request(report, self.store)
        feedback = report.feedback()
        if len(feedback) > _FEEDBACK_CHARS:
            feedback = feedback[:_FEEDBACK_CHARS].rstrip() + "\n[... the rest of the output was cut]"
        fix = self.prompt("l2mac_fix").render(
            index=index + 1,
            feedback=feedback,
            files=render_files(self.store, request.shown),
            target=request.target,
            target_hint=(_SAME.format(target=same) if same else "") + request.hint + "\n",
        )
        messages = self._fresh_messages(run, state, index, "", start=False)
        messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n\n" + fix[-1]["content"]}
        return messages, request.target

    async def _call(self, run: L2MACRun, messages: list[dict], role: str, attempt: int = 0):
        """One model call; `attempt` > 0 (a fix round) asks for another sample (``seed``): a
        model sampled with a fixed seed answers the same prompt the same way, and a fix request
        it answered with the broken file once it answers so again."""
        params: dict = {"max_tokens": self.reply_tokens}
        if attempt:
            params["seed"] = attempt
        if role == "l2mac_agent":
            params["stop"] = list(_PROMPT_HEADINGS)
        if self.native_tools and role == "l2mac_agent":
            params["tools"] = [s for s in TOOL_SPECS if self.mode == "code" or
                               s["function"]["name"] not in ("run_tests", "run_python")]  # fmt: skip
        reply = await self.llm.complete(messages, role=role, trace=run.trace, **params)
        run.usage.record(reply, role=role)
        return reply

    def _touched(self, run: L2MACRun, before: dict[str, str], writes_from: int) -> list[str]:
        """Paths the step changed, or wrote (a file rewritten with its own content included:
        the instruction's file is there, written by an earlier step)."""
        changed = changed_paths(before, self.store.digests())
        return sorted({*changed, *run.toolbox.writes[writes_from:]})

    def _wrote_its_files(
        self, run: L2MACRun, instruction: str, before: dict[str, str], writes_from: int
    ) -> list[str]:
        """The paths the step touched if they include a file of each part that names one, else []."""
        wrote = self._touched(run, before, writes_from)
        return wrote if wrote and not _missing(instruction, wrote) else []

    def _all_named_exist(self, instruction: str) -> bool:
        files = self.store.list()
        return all(any(p == n or p.endswith("/" + n) for p in files) for n in named_files(instruction))

    async def _run_instruction(
        self, run: L2MACRun, state: dict, index: int, budget: int, before: dict
    ) -> dict:
        instruction = state["registry"][index]
        runs_before, writes_from = len(run.toolbox.sandbox_runs), len(run.toolbox.writes)
        require = self._tests_required(state["task"]) and instruction.startswith(REPAIR)
        turns = restarts = fixes = reasks = 0
        progress, summary, failure = "", "", ""
        fixing, fix_from, fix_digest = "", 0, None  # the file a fix request asked for, since when
        seed_base = 10 * (index + 1) if instruction.startswith(REPAIR) else 0  # repairs sample anew
        sampled: CheckReport | None = None  # a failed check to repair by best-of-n draws
        if instruction.startswith(REPAIR) and self.samples > 1:
            sampled = check_work(self.store, self.mode, self.limits, require)
        elif instruction.startswith(REPAIR):  # the control unit's own step starts from the failure
            messages, fixing = self._fix_messages(run, state, index, check_work(self.store, self.mode,
                                                                           self.limits, require))  # fmt: skip
            fix_from, fix_digest = len(run.toolbox.writes), self.store.digests().get(fixing)
        else:
            messages = self._fresh_messages(run, state, index, progress)
        while sampled is None:
            if turns >= min(budget, self.max_turns_per_step):
                wrote = self._wrote_its_files(run, instruction, before, writes_from)
                if wrote and check_work(self.store, self.mode, self.limits, require).ok:
                    break  # done, without saying so
                failure = f"out of turns after {turns}"
                break
            if self.meter.near_full(messages):
                if len(messages) <= 2 or restarts >= self.max_restarts:
                    raise BudgetError(
                        f"instruction {index + 1}'s context ({self.meter.tokens(messages)} tokens) does not "
                        f"fit {self.llm.model}'s window of {self.llm.context_window}; use a model with a "
                        "larger window, a smaller reply_tokens, or shorter instructions."
                    )
                asked = [*messages, *self.prompt("l2mac_summary").render()]
                progress = (await self._call(run, asked, "l2mac_summary")).text.strip()
                restarts += 1
                run.emit(Notice("restart", index, {"summary": progress}))
                messages = self._fresh_messages(run, state, index, progress)
                continue
            reply = await self._call(run, messages, "l2mac_agent", attempt=fixes + seed_base)
            turns += 1
            wrote = self._touched(run, before, writes_from)
            missing = _missing(instruction, wrote)
            ran_checks = len(run.toolbox.sandbox_runs) > runs_before
            default = fixing or (missing[0] if len(missing) == 1 else None)
            calls = parse_reply(reply, default_path=default)
            if reply.finish_reason == "length":
                calls = _refuse_cut_writes(calls, self.reply_tokens)
            messages.append({"role": "assistant", "content": _transcript(reply)})
            if not calls and (wrote or may_change_nothing(instruction, ran_checks)) and not fixing:
                calls = [ToolCall("complete", {"summary": reply.text.strip()[:300]})]  # forgot to say so
            if not calls:
                if reasks >= self.max_reasks:
                    failure = "no action in the replies"
                    break
                reasks += 1
                messages.append({"role": "user", "content": _FIX_AGAIN.format(target=fixing) if fixing
                                 else _NO_ACTION})  # fmt: skip
                continue
            writes_now = len(run.toolbox.writes)
            observations = [run.toolbox.execute(c) for c in calls]
            wrote_now = len(run.toolbox.writes) > writes_now
            done = next((o for o in observations if o.done), None)
            feedback = "\n\n".join(f"[{o.tool}] {o.text}" for o in observations)
            if done is None and wrote_now and all(c.name == "write_file" for c in calls):
                # its files written, or the fix request's rewrite made: small models stop there
                if fixing or (named_files(instruction) and self._all_named_exist(instruction)
                              and self._wrote_its_files(run, instruction, before, writes_from)):  # fmt: skip
                    done = Observation("complete", "", done=True)
            if done is None:
                if fixing and len(run.toolbox.writes) == fix_from:
                    hint = "\n\n" + _FIX_AGAIN.format(target=fixing)
                elif self._wrote_its_files(run, instruction, before, writes_from):
                    hint = f"\n\n{_WRITTEN}"
                else:
                    hint = ""
                messages.append({"role": "user", "content": f"Results:\n{feedback}{hint}"})
                continue
            wrote = self._touched(run, before, writes_from)
            missing = _missing(instruction, wrote)
            summary = done.summary or summary
            ran_checks = len(run.toolbox.sandbox_runs) > runs_before
            if fixing and len(run.toolbox.writes) == fix_from:  # "complete" after a fix request, no rewrite
                if reasks >= self.max_reasks:
                    failure = f"did not rewrite {fixing} after the check failed"
                    break
                reasks += 1
                run.emit(Notice("no_effect", index, {"missing": [fixing]}))
                messages.append({"role": "user", "content": f"Results:\n{feedback}\n\n"
                                 + _FIX_AGAIN.format(target=fixing)})  # fmt: skip
                continue
            if (not wrote or missing) and not may_change_nothing(instruction, ran_checks):
                if reasks >= self.max_reasks:
                    failure = f"did not write {', '.join(missing)}" if wrote else "no file changed"
                    break
                reasks += 1
                run.emit(Notice("no_effect", index, {"missing": missing}))
                note = _no_effect_note(wrote, missing)
                messages.append({"role": "user", "content": f"Results:\n{feedback}\n\n{note}"})
                continue
            report = check_work(self.store, self.mode, self.limits, require)
            if report.ok:
                break
            if self.samples > 1:
                sampled = report
                break
            if fixes >= self.max_fix_rounds:
                failure = f"checks still failing after {fixes} fix rounds"
                break
            fixes += 1
            run.emit(Notice("check_failed", index, {"feedback": report.feedback()}))
            rewrote = fixing in run.toolbox.writes[fix_from:]
            same = fixing if rewrote and self.store.digests().get(fixing) == fix_digest else ""
            messages, fixing = self._fix_messages(run, state, index, report, same)
            fix_from, fix_digest = len(run.toolbox.writes), self.store.digests().get(fixing)
        unwritten = _missing(instruction, self._touched(run, before, writes_from)) if failure else []
        if unwritten and self.samples > 1:  # the conversation never wrote its file: draw it
            note = f"{unwritten[0]} was not written ({failure})."
            report = check_work(self.store, self.mode, self.limits, require)
            seed, left = 1000 * (index + 1) + 500, budget - turns
            draw = await self._draw(run, state, index, report, require, left, seed, unwritten[0], note)
            turns += draw.calls
            if draw.kept and not _missing(instruction, self._touched(run, before, writes_from)):
                failure, sampled = "", (None if draw.report.ok else draw.report)
        if sampled is not None:
            left = budget - turns
            report, rounds, calls = await self._sample_fixes(run, state, index, sampled, require, left)
            fixes, turns = fixes + rounds, turns + calls
            if not report.ok:
                failure = f"checks still failing after {rounds} draws of up to {self.samples} samples"
        wrote = self._touched(run, before, writes_from)
        summary = summary or (f"wrote {', '.join(wrote)}" if wrote else "changed no file")
        if failure:
            summary = f"not done ({failure}); {summary}"
        return {
            "index": index + 1,
            "previous": f"Instruction {index + 1} ({headline(instruction)}): {summary}"[:1000],
            "turns": turns,
            "restarts": restarts,
            "fix_rounds": fixes,
            "failed_steps": [index + 1] if failure else [],
            "failures": [f"{index + 1}: {failure}"] if failure else [],
        }


def _transcript(reply) -> str:
    """The reply as the agent's own turn: its text, and its native calls in the text format."""
    native = render_calls(native_tool_calls(reply)) if reply.tool_calls else ""
    return "\n\n".join(x for x in ((reply.text or "").strip(), native) if x)


def _missing(instruction: str, wrote: list[str]) -> list[str]:
    """`missing_files`, except for the control unit's repairs: any file that makes the check
    pass will do (the tests it asked for in test_roman.py may land in tests/test_roman.py)."""
    return [] if instruction.startswith(REPAIR) else missing_files(instruction, wrote)


def _start_hint(instruction: str) -> str:
    """How to begin the reply, with the file the instruction names: a small model copies the
    examples of its prompt, paths included, so the nearest example carries the right path.
    (Ending the hint inside an opened fence was tried on the 1.5B coder: it then wrote another
    step's file first; a copied hint with no content is refused by the parser instead.)"""
    files = missing_files(instruction, [])
    return f"\nBegin your reply with:\nACTION: write_file\npath: {files[0]}\n" if files else ""


def _refuse_cut_writes(calls: list[ToolCall], limit: int) -> list[ToolCall]:
    """The calls of a reply cut at the token limit: a Python write that does not compile is the
    file cut short (the 1.5B coder's roman.py ended mid-line at 600 tokens, and every fix round
    rewrote it the same way), so it becomes an error for the model, not a broken file."""
    for call in calls:
        path = str(call.args.get("path", ""))
        if call.name != "write_file" or call.error or not path.endswith(".py"):
            continue
        try:
            compile(str(call.args["content"]), path, "exec")
        except SyntaxError:
            call.error = (f"the reply was cut at {limit} tokens, so {path} was not written (it would "
                          "end mid-file): write a shorter file, without comments or checks the task "
                          "does not ask for")  # fmt: skip
    return calls


def _no_effect_note(wrote: list[str], missing: list[str]) -> str:
    found = f"this step changed {', '.join(wrote)} only" if wrote else "no file in the store changed"
    return _NO_EFFECT.format(found=found, what=f" ({', '.join(missing)})" if missing else "")


def changed_paths(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Paths written, changed or deleted between two `FileStore.digests`."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


__all__ = ["MODE_HINT", "REPAIR", "InstructionLoop", "L2MACRun", "changed_paths"]
