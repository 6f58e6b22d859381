import pytest

from longweave.errors import ConfigError
from longweave.prompts import PromptTemplate, load_prompt


def test_render_is_strict_and_keeps_braces():
    t = PromptTemplate("x", system="Be {{ tone }}.", user='JSON like {"a": 1} about {{topic}}')
    assert t.render(tone="brief", topic="rivers") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": 'JSON like {"a": 1} about rivers'},
    ]
    with pytest.raises(ConfigError, match="topic"):
        t.render(tone="brief")


def test_override_from_dict_and_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("user: |\n  Hello {{name}}\n")
    assert load_prompt("anything", str(path)).render(name="A")[-1]["content"] == "Hello A"
    assert load_prompt("anything", {"user": "U"}).render() == [{"role": "user", "content": "U"}]
    with pytest.raises(ConfigError, match="no packaged prompt"):
        load_prompt("no-such-agent")
    with pytest.raises(ConfigError, match="unknown parts"):
        load_prompt("anything", {"usr": "typo"})
