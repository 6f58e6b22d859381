import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipelines._chat_rules import FACT, QUESTION, filler

ROOT = Path(__file__).resolve().parents[2]
# Runs the real `longweave` command with its model replaced by the rule-based test model.
BOOT = (
    "import longweave.cli.chat as c; from tests.pipelines._chat_rules import chat_model;"
    "c.load_llm = lambda spec: chat_model(); from longweave.cli.main import main; main()"
)


def longweave(*args, stdin=None, scripted=False):
    cmd = [sys.executable, "-c", BOOT] if scripted else [sys.executable, "-m", "longweave.cli.main"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_piped_chat_remembers_across_sessions(tmp_path):
    mem = str(tmp_path / "mem")
    lines = [FACT] + [filler(i) for i in range(40)]
    first = longweave(
        "chat", "--memory", mem, "--model", "scripted", stdin="\n".join(lines) + "\n", scripted=True
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["OK, noted."] * 41
    second = longweave(
        "chat", "--memory", mem, "--show-memory", stdin=f"\n{QUESTION}\n/exit\nnot read\n", scripted=True
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == ["Your locker code is 4812."]
    assert "[memory: 1" in second.stderr and "41 (flash)" in second.stderr


def test_memory_add_then_search_and_chat_about_the_document(tmp_path):
    doc = tmp_path / "notes.txt"
    paras = [f"Paragraph {i}. The river Glimmer flows past mill {i}." for i in range(200)]
    paras[137] = "Paragraph 137. For the record, my locker code is 7731."
    doc.write_text("\n\n".join(paras), encoding="utf-8")
    mem = str(tmp_path / "mem")
    added = longweave("memory", "add", str(doc), "--memory", mem, "--chunk-tokens", "40")
    assert added.returncode == 0, added.stderr
    assert "pieces" in added.stdout and "from" in added.stdout
    found = longweave("memory", "search", "locker code", "--memory", mem, "-k", "2")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0].startswith("1. [") and "7731" in found.stdout.splitlines()[0]
    asked = longweave("chat", "--memory", mem, stdin=QUESTION + "\n", scripted=True)
    assert asked.stdout.strip() == "Your locker code is 7731."


@pytest.mark.slow
def test_user_mistakes_are_one_line_and_status_2(tmp_path):
    for args in (
        ("memory", "search", "x", "--memory", str(tmp_path / "none")),
        ("memory", "add", str(tmp_path / "missing.txt"), "--memory", str(tmp_path / "m")),
        ("chat", "--memory", str(tmp_path / "m"), "--model", "nonsense-spec"),
        ("chat", "--memory", str(tmp_path / "m"), "--model", "scripted", "--mode", "sometimes"),
    ):
        res = longweave(*args, stdin="")
        assert res.returncode == 2, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error:"), res.stderr
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 100)
    res = longweave("memory", "add", str(binary), "--memory", str(tmp_path / "m"))
    assert res.returncode == 2 and "UTF-8" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_interactive_chat_on_a_terminal(tmp_path):
    """Through a pseudo-terminal: prompts shown, replies prefixed, /exit leaves cleanly."""
    import pty
    import select

    mem = tmp_path / "mem"
    longweave("chat", "--memory", str(mem), stdin=FACT + "\n", scripted=True)
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"}
    proc = subprocess.Popen(
        [sys.executable, "-c", BOOT, "chat", "--memory", str(mem)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 60) -> None:
        nonlocal seen
        import time

        end = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break

    read_until(b"you> ")
    assert b"1 memories" in seen
    os.write(master, (QUESTION + "\n").encode())
    read_until(b"assistant> Your locker code is 4812.")
    os.write(master, b"/exit\n")
    assert proc.wait(timeout=30) == 0
    os.close(master)
    assert b"assistant> Your locker code is 4812." in seen
