"""One LangGraph graph per method, plus what they share."""

from longweave.pipelines.agentwrite import AgentWrite, WriteResult
from longweave.pipelines.base import Pipeline, Result

__all__ = ["AgentWrite", "Pipeline", "Result", "WriteResult"]
