"""Choosing llama.cpp's extra buffer types per CPU: AMX detection, overrides, the crash probe."""

from __future__ import annotations

import subprocess

import pytest

from longweave.errors import ConfigError
from longweave.llm import llamacpp_cpu
from longweave.llm.llamacpp_cpu import ENV_VAR, amx_in_use, choose_extra_buffers, cpu_flags

SAPPHIRE_RAPIDS = frozenset("fpu sse2 avx2 avx512f amx_bf16 amx_tile amx_int8 avx512_fp16".split())
EPYC = frozenset("fpu sse2 avx2 avx512f avx512_bf16".split())
BUILD_WITH_AMX = "CPU : SSE3 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |"
BUILD_WITHOUT_AMX = "CPU : SSE3 = 1 | AVX512 = 1 | REPACK = 1 |"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu amx_tile amx_int8\n\nprocessor\t: 1\n"
    )
    assert cpu_flags(info) == {"fpu", "amx_tile", "amx_int8"}
    assert cpu_flags(tmp_path / "absent") == frozenset()


@pytest.mark.parametrize(
    ("flags", "features", "expected"),
    [
        (SAPPHIRE_RAPIDS, BUILD_WITH_AMX, True),
        (SAPPHIRE_RAPIDS, BUILD_WITHOUT_AMX, False),  # a build without the kernel is safe
        (SAPPHIRE_RAPIDS, "", True),  # unknown build: the CPU decides, on the safe side
        (EPYC, BUILD_WITH_AMX, False),
    ],
)
def test_amx_is_in_use_only_where_cpu_and_build_both_have_it(flags, features, expected):
    assert amx_in_use(flags, features) is expected


def test_amx_machines_get_extra_buffers_off_without_a_probe(monkeypatch):
    monkeypatch.setattr(llamacpp_cpu, "cpu_flags", lambda: SAPPHIRE_RAPIDS)
    monkeypatch.setattr(llamacpp_cpu, "build_features", lambda: BUILD_WITH_AMX)
    monkeypatch.setattr(llamacpp_cpu, "probe_extra_buffers", lambda path: pytest.fail("probed"))
    use, why = choose_extra_buffers(env={}, model_path="m.gguf")
    assert use is False and "AMX" in why


def test_explicit_choice_and_environment_override_detection(monkeypatch):
    monkeypatch.setattr(llamacpp_cpu, "cpu_flags", lambda: SAPPHIRE_RAPIDS)
    monkeypatch.setattr(llamacpp_cpu, "build_features", lambda: BUILD_WITH_AMX)
    assert choose_extra_buffers(True, env={ENV_VAR: "0"})[0] is True
    assert choose_extra_buffers(env={ENV_VAR: "1"}) == (True, f"{ENV_VAR}=1")
    assert choose_extra_buffers(env={ENV_VAR: "off"})[0] is False
    with pytest.raises(ConfigError, match="1, 0 or auto"):
        choose_extra_buffers(env={ENV_VAR: "maybe"})


def test_a_crashing_probe_turns_extra_buffers_off_and_is_remembered(monkeypatch, tmp_path):
    monkeypatch.setenv("LONGWEAVE_CACHE", str(tmp_path))
    monkeypatch.setattr(llamacpp_cpu, "cpu_flags", lambda: EPYC)
    runs = []

    def crashed(cmd, **kwargs):
        runs.append(cmd)
        return subprocess.CompletedProcess(cmd, -11)  # SIGSEGV in the child

    monkeypatch.setattr(llamacpp_cpu.subprocess, "run", crashed)
    assert choose_extra_buffers(env={}, model_path="m.gguf") == (
        False,
        "off: a probe with extra buffer types crashed on this CPU",
    )
    assert choose_extra_buffers(env={}, model_path="m.gguf")[0] is False
    assert len(runs) == 1 and (tmp_path / "llama-cpu.json").exists()


def test_a_probe_that_cannot_run_does_not_count_against_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("LONGWEAVE_CACHE", str(tmp_path))
    monkeypatch.setattr(llamacpp_cpu, "cpu_flags", lambda: EPYC)

    def hangs(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout", 1))

    monkeypatch.setattr(llamacpp_cpu.subprocess, "run", hangs)
    assert choose_extra_buffers(env={}, model_path="m.gguf")[0] is True
    assert not (tmp_path / "llama-cpu.json").exists()


def test_model_params_carry_the_choice_only_while_the_model_is_built():
    llama_cpp = pytest.importorskip("llama_cpp")
    from longweave.llm.llamacpp import _model_params

    with _model_params(llama_cpp, False):
        assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is False
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True
