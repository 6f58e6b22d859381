"""Real components, started by the tests: the embedded models through llama.cpp (the default
instruct model and the Gemma base model), Gemma's weights through transformers, and the openai
backend against `transformers serve` on loopback.

The exported transformers folder is cached (``$LONGWEAVE_CACHE`` or ``~/.cache/longweave``);
the first run on a machine converts the GGUF once (about a minute).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jinja2
import pytest

from longweave.llm import load_llm, render_plain
from longweave.llm.prompt_format import PLAIN_CHAT_TEMPLATE

pytestmark = pytest.mark.real

CACHE = Path(os.environ.get("LONGWEAVE_CACHE", Path.home() / ".cache" / "longweave"))


def test_plain_chat_template_renders_like_render_plain():
    template = jinja2.Environment().from_string(PLAIN_CHAT_TEMPLATE)
    for messages in (
        [{"role": "user", "content": "Hi "}],
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A partial"}],
    ):
        rendered = template.render(messages=messages, bos_token="<bos>", add_generation_prompt=True)
        assert rendered == "<bos>" + render_plain(messages)


@pytest.fixture(scope="module")
def local():
    llm = load_llm("local")
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def gemma():
    llm = load_llm("local:gemma-270m", context_window=2048)
    yield llm
    llm.close()


def test_the_cli_way_of_loading_the_default_model_generates_on_this_cpu():
    # In a child process, so a native crash (llama.cpp's AMX kernel once segfaulted at the first
    # token) fails this test with its signal instead of killing the test run.
    code = (
        "from longweave import load_llm; llm = load_llm('local'); "
        "out = llm.complete_sync('Name one river.', max_tokens=8, temperature=0); "
        "print(llm.model, llm.settings['extra_buffers'], out.completion_tokens)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    name, _, tokens = run.stdout.split()
    assert name == "qwen2.5-coder-0.5b-instruct" and int(tokens) > 0


def test_default_model_is_an_instruct_model_that_answers_and_stops(local):
    from longweave.llm.llamacpp import LlamaCpp

    assert isinstance(local, LlamaCpp) and local.uses_chat_template and local.supports_tools
    assert isinstance(local.settings["extra_buffers"], bool) and local.settings["why"]
    messages = [{"role": "user", "content": "What is 2 + 3? Reply with the number only."}]
    out = local.complete_sync(messages, max_tokens=16, temperature=0, role="reader")
    assert out.text.strip() == "5" and out.finish_reason == "stop" and out.completion_tokens < 16
    assert out.prompt_tokens == local.count_tokens(messages)  # the template's exact tokens
    assert local.usage.by_role["reader"].completion_tokens == out.completion_tokens
    assert local.complete_sync(messages, max_tokens=16, temperature=0).text == out.text
    # A trailing assistant message is a prefix the reply continues, as for base models.
    prefixed = [*messages, {"role": "assistant", "content": "The sum is"}]
    rendered = local._llama.detokenize(local.render(prefixed), special=True).decode()
    assert rendered.endswith("<|im_start|>assistant\nThe sum is")


def test_default_model_returns_native_tool_calls(local):
    import json

    from longweave.agents.tools import TOOL_SPECS, parse_reply

    out = local.complete_sync(
        "Write a file named hello.py whose content is: print('hello')",
        tools=[s for s in TOOL_SPECS if s["function"]["name"] == "write_file"],
        max_tokens=96,
        temperature=0,
    )
    assert out.finish_reason == "tool_calls" and "<tool_call>" not in out.text
    (call,) = out.tool_calls
    assert call["name"] == "write_file" and json.loads(call["arguments"])["path"] == "hello.py"
    (parsed,) = parse_reply(out)
    assert parsed.name == "write_file" and "print" in parsed.args["content"]


def test_base_model_generates_with_the_plain_format_and_reports_usage(gemma):
    from longweave.llm.llamacpp import LlamaCpp

    assert isinstance(gemma, LlamaCpp) and not gemma.uses_chat_template and not gemma.supports_tools
    out = gemma.complete_sync("Write one sentence about rivers.", max_tokens=24, temperature=0, role="writer")
    assert out.text.strip()
    assert out.completion_tokens > 0 and out.completion_tokens <= 24
    assert (
        out.prompt_tokens
        == gemma.count_tokens(
            render_plain([{"role": "user", "content": "x"}]).replace("x", "Write one sentence about rivers.")
        )
        + 1
    )  # + BOS
    assert gemma.usage.by_role["writer"].completion_tokens == out.completion_tokens
    again = gemma.complete_sync("Write one sentence about rivers.", max_tokens=24, temperature=0)
    assert again.text == out.text  # temperature 0 is deterministic


def test_embedded_model_stops_at_max_tokens_and_refuses_an_oversized_prompt(local):
    from longweave.errors import ContextWindowExceeded

    out = local.complete_sync("Count: one two three four five six seven", max_tokens=3, temperature=0)
    assert out.completion_tokens <= 3 and out.finish_reason == "length"
    with pytest.raises(ContextWindowExceeded, match="smaller chunks|send less"):
        local.complete_sync("word " * (local.context_window + 10), max_tokens=10)


@pytest.fixture(scope="module")
def hf_folder():
    from longweave.llm.local import export_hf_folder

    return export_hf_folder(CACHE / "gemma-3-270m-hf", "gemma-270m")


def test_transformers_backend_generates_from_the_exported_folder(hf_folder):
    llm = load_llm(f"hf:{hf_folder}", context_window=2048)
    out = llm.complete_sync("The capital of France is", max_tokens=8, temperature=0)
    assert out.completion_tokens <= 8 and out.prompt_tokens > 5
    assert llm.count_tokens("hello world") == len(llm.tokenizer.encode("hello world"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(hf_folder):
    port = _free_port()
    exe = Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen(
        [str(exe), "serve", str(hf_folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"transformers serve exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("transformers serve did not come up within 180 s")
    yield f"http://127.0.0.1:{port}/v1", str(hf_folder)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_openai_backend_against_transformers_serve(served):
    url, model = served
    llm = load_llm(f"openai:{model}@{url}", timeout=120, max_retries=1)
    out = llm.complete_sync(
        [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "Name a river."}],
        max_tokens=12,
        temperature=0,
        role="probe",
    )
    assert out.text.strip() and 0 < out.completion_tokens <= 12
    assert out.prompt_tokens > 5  # the server's own count
    many = llm.generate_many_sync(["One.", "Two."], max_tokens=4, temperature=0)
    assert len(many) == 2 and llm.usage.total.calls == 3
