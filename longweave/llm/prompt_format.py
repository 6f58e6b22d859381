"""Rendering chat messages for models that have no chat template (base models).

A base model continues text; it does not know roles. We render the conversation as a plain
document with clear headings, ending with an open "Response" heading the model continues, and
stop generation at the next heading so the model does not write the user's next turn.
"""

from __future__ import annotations

from longweave.errors import InputError

_HEADINGS = {"system": "### Instructions", "user": "### Input", "assistant": "### Response"}
STOP_SEQUENCES = ("\n### Input", "\n### Instructions", "\n### Response", "\n### Output")


# The same format as a Jinja chat template, for servers that need one (`transformers serve`):
# `export_hf_folder` writes it into the saved tokenizer, and a test checks it renders exactly
# what `render_plain` does (plus the BOS token a tokenizer would otherwise add).
PLAIN_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- set headings = {'system': '### Instructions', 'user': '### Input', 'assistant': '### Response'} -%}"
    "{%- for m in messages -%}"
    "{%- if not loop.first %}{{ '\\n' }}{% endif -%}"
    "{{ headings[m['role']] }}{{ '\\n' }}{{ m['content'] | trim }}"
    "{%- if not (loop.last and m['role'] == 'assistant') %}{{ '\\n' }}{% endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt and messages[-1]['role'] != 'assistant' -%}"
    "{{ '\\n### Response\\n' }}"
    "{%- endif -%}"
)


def normalize_messages(messages: str | list[dict]) -> list[dict]:
    """Accept a bare string as one user message; check roles and contents."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not messages:
        raise InputError("no messages to send; pass a prompt string or a non-empty message list.")
    out = []
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role not in _HEADINGS:
            raise InputError(f"message role {role!r} is not one of system, user, assistant.")
        if not isinstance(content, str):
            raise InputError(f"message content must be a string, got {type(content).__name__}.")
        out.append({"role": role, "content": content})
    return out


def render_plain(messages: list[dict]) -> str:
    """Render messages as a plain prompt a base model continues with the assistant's reply.

    Example:
        >>> print(render_plain([{"role": "user", "content": "Say hi."}]))
        ### Input
        Say hi.
        <BLANKLINE>
        ### Response
        <BLANKLINE>
    """
    parts = [f"{_HEADINGS[m['role']]}\n{m['content'].strip()}\n" for m in messages]
    if messages[-1]["role"] == "assistant":
        # A trailing assistant message is a prefix the model should continue, not close.
        return "\n".join(parts)[:-1]
    parts.append(f"{_HEADINGS['assistant']}\n")
    return "\n".join(parts)
