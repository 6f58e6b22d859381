"""The same batch on a local two-worker Ray cluster gives the same outputs as the local run."""

import json
import sys
from pathlib import Path

import pytest

from longweave.cli.batch import PipelineSpec, build
from longweave.pipelines.batch import run_many
from longweave.testing import FakeOpenAIServer, scripted_responder

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from rule_models import rule_writer  # noqa: E402

SECTIONS = "\n- Rivers: where they start\n- Towns: who lives there\n- Sea: where it ends"


@pytest.mark.slow
def test_a_ray_batch_on_two_workers_matches_the_local_run(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray not installed (pip install -e '.[ray]')")
    from longweave.pipelines.batch_ray import run_many_ray

    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(
        json.dumps({"id": f"r{k}", "instruction": f"Write a 600-word note number {k}.{SECTIONS}"}) + "\n"
        for k in range(12)
    ))  # fmt: skip
    with FakeOpenAIServer(scripted_responder(rule_writer()), latency=0.01) as server:
        spec = PipelineSpec("agentwrite", f"openai:fake@{server.url}")
        local = run_many(build(spec), inputs, output=tmp_path / "local.jsonl", checkpoint=tmp_path / "l.db")
        try:
            spread = run_many_ray(build, spec, inputs, workers=2, output=tmp_path / "ray.jsonl",
                                  checkpoint=tmp_path / "r.db", concurrency=3)  # fmt: skip
        except Exception as exc:  # a sandbox without the ports or shared memory Ray needs
            if ray.is_initialized():
                ray.shutdown()
            pytest.skip(f"a local Ray cluster could not start here: {type(exc).__name__}: {exc}"[:200])
    assert local.done == spread.done == 12 and spread.failed == 0

    def fields(path):
        return [{k: r[k] for k in ("id", "output", "words", "plan", "error")}
                for r in map(json.loads, path.read_text().splitlines())]  # fmt: skip

    assert fields(tmp_path / "ray.jsonl") == fields(tmp_path / "local.jsonl")
