"""Shared fixtures. Tests never touch the network; `real` tests start their own components."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def tokenizer():
    from longweave.text import get_tokenizer

    return get_tokenizer()
