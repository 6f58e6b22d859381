"""One LangGraph graph per method, plus what they share."""

from longweave.pipelines.agentwrite import AgentWrite, WriteResult
from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.cogwriter import CogResult, CogWriter

__all__ = ["AgentWrite", "CogResult", "CogWriter", "Pipeline", "Result", "WriteResult"]
