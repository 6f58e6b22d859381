"""One LangGraph graph per method, plus what they share."""

from longweave.pipelines.base import Pipeline, Result

__all__ = ["Pipeline", "Result"]
