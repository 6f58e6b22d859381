"""L2MAC's instruction registry: planning it, keeping it in the workdir, extending it.

`RegistryMixin` is mixed into `longweave.pipelines.l2mac.L2MAC`: the model writes the prompt
program (the *instruction registry*) from the task, saved in the workdir's ``.longweave/``
folder so a user can edit it and run it again; `repair_instruction` is the instruction the
control unit adds when the final check fails. Planning within a run records its calls and
what it left out in the run's `L2MACRun`.

Deliberately not here: parsing and fitting the registry (``longweave.agents.prompt_program``).
"""

from __future__ import annotations

import json
from pathlib import Path

from longweave._sync import run_sync
from longweave.agents._fixes import tests_file_for
from longweave.agents.control_unit import CheckReport, Toolbox
from longweave.agents.prompt_program import check_registry, fit_registry, split_registry, unasked
from longweave.errors import InputError, MalformedOutput
from longweave.memory.file_store import META_DIR
from longweave.pipelines._l2mac_step import MODE_HINT, REPAIR, L2MACRun


class RegistryMixin:
    """Planning and keeping the registry (mixed into `L2MAC`, whose settings it reads)."""

    # -- paths ----------------------------------------------------------------------------
    @property
    def meta_dir(self) -> Path:
        path = self.store.root / META_DIR
        path.mkdir(exist_ok=True)
        return path

    @property
    def registry_path(self) -> Path:
        return self.meta_dir / "registry.json"

    def load_registry(self) -> list[str]:
        """The registry saved by the last `plan` or run in this workdir."""
        if not self.registry_path.is_file():
            raise InputError(f"no registry saved in {self.store.root}; run plan() first.")
        return check_registry(json.loads(self.registry_path.read_text("utf-8")))

    def save_registry(self, registry: list[str]) -> None:
        self.registry_path.write_text(json.dumps(check_registry(registry), indent=1), "utf-8")

    # -- planning -------------------------------------------------------------------------
    async def aplan(self, task: str) -> list[str]:
        """Ask the model for the instruction registry of `task` (also saved in the workdir)."""
        return await self._plan(L2MACRun(Toolbox(self.store, self.mode, self.limits)), task)

    async def _plan(self, run: L2MACRun, task: str) -> list[str]:
        """`aplan` within a run: its calls go to the run's trace, what it leaves out to ``run.dropped``."""
        task = check_task(task)
        messages = self.prompt("l2mac_planner").render(
            task=task, mode_hint=MODE_HINT[self.mode], max_instructions=self.max_instructions
        )
        for _attempt in range(2):
            reply = await self.llm.complete(
                messages, role="l2mac_planner", trace=run.trace, max_tokens=self.reply_tokens
            )
            run.usage.record(reply, role="l2mac_planner")
            registry, dropped = split_registry(reply.text)
            if self.mode == "code":
                dropped += [r for r in registry if unasked(r, task)]
                registry = [r for r in registry if not unasked(r, task)]
            registry = fit_registry(registry, self.max_instructions)
            if registry:
                run.dropped = dropped
                self.save_registry(registry)
                return registry
            again = {"role": "user", "content": "Reply with a numbered list only: '1. ...', '2. ...'."}
            if dropped:
                again["content"] += (" Each instruction writes files of the project; none can install "
                                     "packages, use git, open an editor or run a server.")  # fmt: skip
            messages = [*messages, {"role": "assistant", "content": reply.text}, again]
        raise MalformedOutput(
            f"{self.llm.model} did not write a numbered list of instructions twice; write the registry "
            "yourself and pass it as run(task, registry=[...]).",
            model=self.llm.model,
        )

    def plan(self, task: str) -> list[str]:
        """Synchronous `aplan`: the registry to inspect or edit before `run(task, registry=...)`."""
        return run_sync(self.aplan(task))


def repair_instruction(report: CheckReport, files: list[str]) -> str:
    """The instruction the control unit adds when the final check fails (`REPAIR` heads it)."""
    if report.tests_missing and not report.tests_run:
        return (f"{REPAIR}write pytest tests in {tests_file_for(files)} for the code in the store "
                "(the final check found no tests).")  # fmt: skip
    return f"{REPAIR}fix the code so that the final check passes (it failed: {_first_line(report)})."


def _first_line(report: CheckReport) -> str:
    """What failed, in a few words without a file name (a headline's file is one it must write)."""
    if report.syntax_errors:
        return "a syntax error"
    if report.stubs:
        return f"{len(report.stubs)} function(s) only a placeholder"
    if report.tests_missing:
        return "pytest collected no test"
    summary = [x for x in report.output.strip().splitlines() if x.strip()][-1:]
    return summary[0].strip("= ") if summary else "the tests failed"


def check_task(task: str) -> str:
    if not isinstance(task, str) or not task.strip():
        raise InputError("the task is empty; describe what to build or write.")
    return task.strip()


__all__ = ["RegistryMixin", "check_task", "repair_instruction"]
