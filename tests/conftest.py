"""Shared fixtures. Tests never touch the network; `real` tests start their own components."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The passage index cache (on by default) goes to a folder of this run, never the user's cache;
# subprocesses (CLI tests, notebooks) inherit it.
os.environ["LONGWEAVE_INDEX_CACHE"] = tempfile.mkdtemp(prefix="longweave-index-")
atexit.register(shutil.rmtree, os.environ["LONGWEAVE_INDEX_CACHE"], ignore_errors=True)


@pytest.fixture
def tokenizer():
    from longweave.text import get_tokenizer

    return get_tokenizer()
