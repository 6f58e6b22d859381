"""The agents: each knows its prompt and how to parse its reply, not the graph it runs in."""

from longweave.agents.extractor import DroppedQuote, Evidence, QuoteVerifier, parse_quotes

__all__ = ["DroppedQuote", "Evidence", "QuoteVerifier", "parse_quotes"]
