"""One LangGraph graph per method, plus what they share."""

from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.l2mac import L2MAC, L2MACResult

__all__ = ["L2MAC", "L2MACResult", "Pipeline", "Result"]
