"""An embedder that records what it is asked to embed, so tests can count embedding work."""

from longweave.memory.embedders import HashingEmbedder


class CountingEmbedder:
    """The hashing embedder, recording every text it embeds in ``texts``."""

    def __init__(self, dim: int = 256) -> None:
        self._inner = HashingEmbedder(dim)
        self.dim, self.name = dim, f"counting-{dim}"
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return self._inner.embed(texts)
