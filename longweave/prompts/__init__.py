"""Prompt files, one per agent, rendered with strict templates.

Each agent's prompt lives in ``longweave/prompts/<agent>.yaml`` with a ``system`` and a
``user`` entry (either may be absent). Placeholders are ``{{name}}``; rendering with a name
missing raises, so a prompt can never silently lose its input. Users override any agent's
prompt per pipeline by passing ``prompts={"worker": {"user": "..."}}`` (or a path to their
own YAML file), in the spirit of smolagents' ``prompt_templates``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from longweave.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class PromptTemplate:
    """A system and a user template for one agent."""

    name: str
    system: str = ""
    user: str = ""

    @property
    def variables(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.system)) | set(_PLACEHOLDER.findall(self.user))

    def render(self, **values: object) -> list[dict]:
        """The chat messages for these values; a missing variable raises ConfigError."""
        missing = self.variables - values.keys()
        if missing:
            raise ConfigError(
                f"prompt {self.name!r} needs {sorted(missing)}; pass them, or fix the override "
                "so it uses only the variables the agent provides."
            )

        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(lambda m: str(values[m[1]]), template).strip()

        messages = []
        if self.system.strip():
            messages.append({"role": "system", "content": fill(self.system)})
        messages.append({"role": "user", "content": fill(self.user)})
        return messages


PromptOverride = str | Path | dict | PromptTemplate


def load_prompt(name: str, override: PromptOverride | None = None) -> PromptTemplate:
    """The prompt of agent `name`: the packaged file, with `override` applied.

    Args:
        name: the agent ("worker", "manager", "planner", "writer"...).
        override: a `PromptTemplate`, a dict with ``system``/``user`` keys replacing those
            parts, or a path to a YAML file of the same shape.
    """
    if isinstance(override, PromptTemplate):
        return override
    try:
        text = resources.files(__package__).joinpath(f"{name}.yaml").read_text("utf-8")
        base = yaml.safe_load(text) or {}
    except FileNotFoundError:
        if override is None:
            raise ConfigError(f"there is no packaged prompt for agent {name!r}.") from None
        base = {}
    if isinstance(override, str | Path):
        try:
            override = yaml.safe_load(Path(override).read_text("utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read the prompt file {override}: {exc}") from exc
    if override is not None and not isinstance(override, dict):
        raise ConfigError(
            f"a prompt override must be a dict, a path or a PromptTemplate, not {type(override).__name__}."
        )
    merged = {**base, **(override or {})}
    unknown = set(merged) - {"system", "user"}
    if unknown:
        raise ConfigError(f"prompt {name!r} has unknown parts {sorted(unknown)}; use 'system' and 'user'.")
    return PromptTemplate(name, merged.get("system") or "", merged.get("user") or "")


__all__ = ["PromptOverride", "PromptTemplate", "load_prompt"]
