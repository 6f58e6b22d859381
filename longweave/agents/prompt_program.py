"""L2MAC's instruction registry (the "prompt program"): parsing it, and reading its steps.

In L2MAC (Holt et al., ICLR 2024) the planner writes the registry once and each instruction is
then run by a fresh agent, so an instruction must carry everything its agent needs. Instruct
models plan like this::

    1. Create the file `textstats/core.py` with the following code:
       ```python
       def word_count(text): ...
       ```
    2. Install the package using pip:
       ```bash
       pip install .
       ```

so `parse_registry` keeps a step's sub-lines and fenced code as part of the step (a numbered
line inside a fence or indented under a step is detail, not a new step), and drops the steps the
sandbox cannot carry out: installing packages, virtual environments, git, publishing, servers,
editors and terminals, and bare "create a directory" steps (the store makes folders as files are
written). A step that names a file to write is always kept ("Create setup.py so pip can install
it").

The same module says which steps may legitimately leave the store unchanged (see
`may_change_nothing`), the rule the pipeline applies before calling a step done.

Deliberately not here: asking the model (``longweave.pipelines.l2mac``) and merging steps, which
would put two files' work in one agent's context.
"""

from __future__ import annotations

import re

from longweave.agents.tools import FILE_PATH
from longweave.errors import InputError

#: Characters one instruction keeps at most (its code included); the rest is cut with a marker.
MAX_STEP_CHARS = 6000

_ITEM = re.compile(
    r"^([ \t]*)(?:#{1,6}[ \t]*)?(?:\*\*)?(?:step\s*)?(\d+)\s*[.):-](?:\*\*)?[ \t]+(\S.*?)\s*$", re.I
)
_BULLET = re.compile(r"^([ \t]*)[-*\u2022][ \t]+(\S.*?)\s*$")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
#: A planner's closing item that asks for nothing: "No other files required", "Nothing else is needed".
_NOTHING = re.compile(r"^\W*(?:no|nothing)\b[^.]*\b(?:required|needed|necessary|to (?:be )?done)\b", re.I)
_UNRUNNABLE = re.compile(
    r"\b(?:pip3?|conda|poetry|pipenv|apt(?:-get)?|brew|npm)\b"
    r"|\binstall(?:s|ed|ing)?\b"
    r"|\bvirtual\s*env\w*|\bvenv\b"
    r"|\bgit\b|\bgithub\b|\bcommit (?:the|your|all) (?:changes|files|code)\b"
    r"|\bpush\b.*\bto (?:the |a |your )?(?:remote|repo\w*|origin)\b"
    r"|\b(?:publish|upload|deploy)\w*\b|\bpypi\b|\bdocker\w*\b"
    r"|\b(?:open|launch)\s+(?:up\s+)?(?:a|an|the|your)?\s*(?:new\s+)?(?:text\s+|code\s+)?"
    r"(?:editor|ide|terminal|browser|shell|command\s+(?:prompt|line)|vs\s*code)\b"
    r"|\b(?:start|launch|run|serve)\s+(?:up\s+)?(?:a|an|the)?\s*(?:web\s+|development\s+|dev\s+|local\s+)?"
    r"(?:server|app|application)\b"
    r"|\bnavigate\b|^\W*cd\s",
    re.I,
)
_DIRECTORY = re.compile(r"\b(?:directory|folder|project structure)\b", re.I)
_LEAD_IN = re.compile(
    r"^(?:(?:first|then|next|finally|lastly|now|afterwards|after that)\b[,:]?\s*|(?:\*\*|__|`))+", re.I
)
_WRITING = re.compile(
    r"\b(?:writ(?:e|es|ing|ten)|creat(?:e|es|ing)|add(?:s|ing)?|implement\w*|defin(?:e|es|ing)|"
    r"updat(?:e|es|ing)|modif\w*|chang(?:e|es|ing)|fix(?:es|ing)?|edit\w*|refactor\w*|renam\w*|"
    r"delet\w*|remov\w*|extend\w*|draft\w*|generat\w*|build\w*|append\w*|insert\w*|replac\w*|"
    r"complet(?:e|es|ing)|make|makes|making|repair\w*)\b(?!\s+sure)",
    re.I,
)
_CHECK_VERBS = {
    "run", "test", "tests", "check", "verify", "validate", "review", "ensure", "confirm", "execute",
    "inspect", "examine", "lint", "read", "list", "look", "make sure",
}  # fmt: skip


def _steps(lines: list[str], item: re.Pattern) -> list[list[str]]:
    """Group `lines` under their top-level items: the least indented matches outside fences
    whose text has a letter ("1. 2. 3. 4. 5." on one line, then bullets, is a plan in bullets)."""
    fenced: list[bool] = []
    inside = None
    for line in lines:
        m = _FENCE.match(line)
        fenced.append(inside is not None)
        if m and (inside is None or (m[1][0] == inside[0] and len(m[1]) >= len(inside))):
            inside = m[1] if inside is None else None
    heads = [i for i, line in enumerate(lines) if not fenced[i] and _worded(item.match(line))]
    if not heads:
        return []
    depth = min(len(item.match(lines[i])[1].expandtabs(4)) for i in heads)
    heads = [i for i in heads if len(item.match(lines[i])[1].expandtabs(4)) == depth]
    groups = []
    for n, start in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else _end_of_last(lines, start, fenced)
        groups.append(lines[start:end])
    return groups


def _worded(m: re.Match | None) -> bool:
    return m is not None and re.search(r"[^\W\d_]", m[m.lastindex]) is not None


def _end_of_last(lines: list[str], start: int, fenced: list[bool]) -> int:
    """Where the last step ends: before a closing paragraph of prose at the margin (after a
    blank line, with no code after it), which is the planner's comment on its plan."""
    for i in range(start + 1, len(lines)):
        prose = lines[i][:1] not in (" ", "\t", "") and not _FENCE.match(lines[i])
        if prose and not fenced[i] and not lines[i - 1].strip() and not fenced[i - 1]:
            if not any(_FENCE.match(x) for x in lines[i:]):
                return i
    return len(lines)


def _clean(group: list[str], item: re.Pattern) -> str:
    m = item.match(group[0])
    first = " ".join(m[m.lastindex].split())
    body = [line.rstrip() for line in group[1:]]
    while body and not body[-1].strip():
        body.pop()
    if body:
        margin = min(len(x) - len(x.lstrip()) for x in body if x.strip())
        body = [x[margin:] for x in body]
    text = "\n".join([first, *body])
    if len(text) > MAX_STEP_CHARS:
        text = text[:MAX_STEP_CHARS].rstrip() + "\n[... the rest of this instruction was cut]"
    return text


def headline(step: str) -> str:
    """The first line of an instruction: what it is about, without its code."""
    return step.strip().split("\n", 1)[0]


def named_files(step: str) -> list[str]:
    """File paths the instruction's headline names, in order, without repeats."""
    found = [m[1].strip("./") for m in FILE_PATH.finditer(headline(step).replace("`", " "))]
    return list(dict.fromkeys(f for f in found if f))


def unrunnable(step: str) -> str | None:
    """Why the sandbox cannot carry out `step` (a short phrase), or None if it can.

    Judged by the headline; a step that names a file to write is always runnable. A headline
    that says nothing is needed ("No other files required as per the instructions.", written
    as a last item by Qwen2.5-Coder-1.5B) is no step: run, it could only be done by changing
    nothing.
    """
    head = headline(step)
    if named_files(step):
        return None
    if _NOTHING.search(head):
        return "asks for nothing"
    m = _UNRUNNABLE.search(head)
    if m:
        return f"needs {m[0].strip().lower()!r}, which the sandbox cannot do"
    if _DIRECTORY.search(head) and _first_verb(head) in {"create", "make", "set", "setup", "add", "organize"}:
        return "only makes folders, which the store creates as files are written"
    return None


#: Files of packaging and project chores: a step that writes only these, for a task that never
#: mentions them, spends a small model's turns on nothing the task asked for (the 1.5B coder
#: planned setup.py "if needed" and a README for one-module tasks).
_CHORES = re.compile(
    r"^(?:setup\.py|setup\.cfg|pyproject\.toml|requirements[\w-]*\.txt|readme(?:\.\w+)?|"
    r"manifest\.in|license(?:\.\w+)?|changelog(?:\.\w+)?|tox\.ini|\.gitignore)$",
    re.I,
)


def unasked(step: str, task: str) -> str | None:
    """Why `step` is not part of `task` (a short phrase), or None: it writes only packaging or
    project files (setup.py, README.md, requirements.txt...) that the task does not mention."""
    names = named_files(step)
    chores = [n for n in names if _CHORES.match(n.rsplit("/", 1)[-1])]
    if not names or len(chores) < len(names):
        return None
    if any(n.rsplit("/", 1)[-1].split(".")[0].lower() in task.lower() for n in chores):
        return None
    return f"writes {', '.join(chores)}, which the task does not ask for"


def split_registry(text: str) -> tuple[list[str], list[str]]:
    """The instructions of a planner's reply, and those dropped as unrunnable.

    Numbered items (``1.``, ``2)``, ``Step 3:``, ``**4.**``) are the steps; without any, top-level
    bullets are. Everything between two steps (indented sub-lines, fenced code, a blank line
    and more prose) belongs to the first; a closing paragraph after the last step does not.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    groups = _steps(lines, _ITEM)
    item = _ITEM
    if not groups:
        groups, item = _steps(lines, _BULLET), _BULLET
    kept, dropped = [], []
    for group in groups:
        step = _clean(group, item)
        (dropped if unrunnable(step) else kept).append(step)
    return kept, dropped


def parse_registry(text: str) -> list[str]:
    """The runnable instructions of a numbered (or bulleted) list, with their detail; empty if none.

    Example:
        >>> parse_registry("1. Write a.py:\\n```python\\nA = 1\\n```\\n2. Install it with pip")
        ['Write a.py:\\n```python\\nA = 1\\n```']
    """
    return split_registry(text)[0]


_THEN = "\n\nThen: "


def fit_registry(steps: list[str], most: int) -> list[str]:
    """At most `most` steps: the ones past the bound are merged into the last, not lost (a
    planner asked for four steps that writes five still planned the tests in the fifth)."""
    if len(steps) <= most:
        return list(steps)
    return [*steps[: most - 1], _THEN.join(steps[most - 1 :])]


def missing_files(step: str, changed: list[str]) -> list[str]:
    """The files `step` names that it did not change: for each of its parts (a step merged by
    `fit_registry` has several) whose headline names files and none of which changed, the first
    one. A name matches a changed path equal to it or ending in ``/name``."""
    missing = []
    for part in step.split(_THEN):
        names = named_files(part)
        hit = any(p == n or p.endswith("/" + n) for n in names for p in changed)
        if names and not hit:
            missing.append(names[0])
    return missing


def check_registry(registry: object) -> list[str]:
    """A user's registry, checked: a non-empty list of non-empty strings (trailing spaces cut)."""
    if (
        not isinstance(registry, list)
        or not registry
        or not all(isinstance(r, str) and r.strip() for r in registry)
    ):
        raise InputError("the registry must be a non-empty list of instructions (non-empty strings).")
    out = []
    for step in registry:
        first, _, rest = step.strip().partition("\n")
        out.append("\n".join([" ".join(first.split()), *(x.rstrip() for x in rest.split("\n"))]).rstrip()
                   if rest else " ".join(first.split()))  # fmt: skip
    return out


def _first_verb(head: str) -> str:
    """The headline's first word if it is a plain word ("test" in "Test it", not in "test_a.py")."""
    m = re.match(r"([a-z]+)(?=[\s,:]|$)(\s+sure\b)?", _LEAD_IN.sub("", head.strip()).lower())
    if not m:
        return ""
    return "make sure" if m[1] == "make" and m[2] else m[1]


def may_change_nothing(step: str, ran_checks: bool = False) -> bool:
    """Whether `step` may end with the store unchanged and still count as done.

    The rule, on the headline: one that starts with a checking verb (run, test, check, verify,
    validate, review, ensure, confirm, execute, inspect, make sure...) and has no writing verb
    (write, create, add, implement, fix, update...) may change nothing ("Run the tests"); so may
    one that names no file and does not start with a writing verb, when the agent ran the tests
    or a script during the step (`ran_checks`: "Run the tests and fix any failures", with none
    left to fix). Every other step was asked to write or change files, and one that changed
    none is not done.
    """
    head = headline(step)
    verb = _first_verb(head)
    if verb in _CHECK_VERBS and not _WRITING.search(head):
        return True
    return ran_checks and not _WRITING.match(verb) and not named_files(step)
