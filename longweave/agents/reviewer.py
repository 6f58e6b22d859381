"""CogWriter's reviewer: turns a unit's failed checks into revision instructions.

After CogWriter (Wan et al., 2025, Section 3.3, "reviewing"). The paper's reviewer is a model
call that reads the monitor's notes; since our monitor's failures are specific (which term is
missing, which is forbidden, how many words), the instructions are written in code from them:
exact, free, and the same every time. A judge's "no" is passed on with the constraint's text.
The pipeline rewrites a unit at most ``max_revisions`` times (the paper's loop has no bound).

Deliberately not here: the rewriting itself (the pipeline calls the writer with the
``cog_reviser`` prompt and these instructions).
"""

from __future__ import annotations

from longweave.agents.cog_planner import Unit
from longweave.agents.monitor import UnitReport


def revision_instructions(
    unit: Unit, report: UnitReport, *, min_ratio: float = 0.5, max_ratio: float = 1.5
) -> list[str]:
    """One instruction per failed check, in the order the checks ran.

    Example:
        >>> from longweave.agents.monitor import Check
        >>> u = Unit(3, "Week 3", 100, label="Week")
        >>> r = UnitReport(3, "Week 3", 40, [Check("length", False, "40 words"),
        ...     Check("required", False, "missing: snow", constraint="it snows", missing=["snow"])])
        >>> revision_instructions(u, r)
        ['Make it about 100 words (it has 40).', "Follow the constraint 'it snows': mention snow explicitly."]
    """
    out = []
    for c in report.failed:
        if c.name == "length":
            out.append(f"Make it about {unit.words} words (it has {report.words}).")
        elif c.name == "label":
            out.append(f"Name the unit: write '{unit.title}' at the start.")
        elif c.name == "required":
            out.append(f"Follow the constraint '{c.constraint}': mention {', '.join(c.missing)} explicitly.")
        elif c.name == "forbidden":
            out.append(f"Remove every mention of {', '.join(c.missing)} (constraint: '{c.constraint}').")
        else:
            out.append(f"The text does not satisfy '{c.constraint}'; rewrite it so that it clearly does.")
    return out


__all__ = ["revision_instructions"]
