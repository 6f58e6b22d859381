"""longweave logs what runs (pipelines, backends) at info and debug level, and is silent by default."""

import logging
import re
import subprocess
import sys
import textwrap

from longweave import FullContext, ScriptedLLM
from longweave.errors import ServerError
from longweave.llm import LLM, Completion, RetryPolicy

FACT = "The jade key opens the red door."


def test_silent_by_default():
    script = textwrap.dedent(
        f"""
        from longweave import FullContext, ScriptedLLM
        llm = ScriptedLLM(default="the red door")
        print(FullContext(llm).run({FACT!r} * 3, "Which door?").answer)
        """
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "the red door" and res.stderr == ""
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("longweave").handlers)


def test_a_run_logs_the_pipeline_at_info_and_each_call_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="longweave")
    FullContext(ScriptedLLM(default="the red door")).run(FACT, "Which door?")
    by_name = {(r.name, r.levelno) for r in caplog.records}
    assert ("longweave.pipelines.full_context", logging.INFO) in by_name
    calls = [r for r in caplog.records if r.name == "longweave.llm.base"]
    assert len(calls) == 1 and calls[0].levelno == logging.DEBUG
    assert re.fullmatch(r"scripted call by reader: \d+ prompt \+ 3 completion tokens, [\d.]+ s, stop",
                        calls[0].getMessage())  # fmt: skip


def test_retries_are_logged_at_info(caplog):
    class Flaky(LLM):
        failures = 2

        async def generate(self, messages, **params):
            if self.failures:
                self.failures -= 1
                raise ServerError("503 from the server", model=self.model)
            return Completion("ok", 1, 1)

    caplog.set_level(logging.INFO, logger="longweave")
    llm = Flaky(model="flaky", retry=RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=0.1))
    assert llm.complete_sync("hi").text == "ok"
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(retries) == 2
    assert retries[0].startswith("flaky: ServerError: 503 from the server; retry 1 of 3")
    assert not [r for r in caplog.records if r.levelno == logging.DEBUG]  # calls only at debug
