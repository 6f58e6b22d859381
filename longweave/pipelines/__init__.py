"""One LangGraph graph per method, plus what they share."""

from longweave.pipelines._reading import ReadingResult
from longweave.pipelines.agentwrite import AgentWrite, WriteResult
from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.chain_of_agents import ChainOfAgents
from longweave.pipelines.cogwriter import CogResult, CogWriter
from longweave.pipelines.compose import NodeIO, UsageLog, agent_node, as_node, recall_node, remember_node
from longweave.pipelines.full_context import FullContext
from longweave.pipelines.l2mac import L2MAC, L2MACResult
from longweave.pipelines.memory_chat import ChatResult, MemoryChat
from longweave.pipelines.rag import RAG
from longweave.pipelines.retrieve_then_reason import RetrieveThenReason

__all__ = [
    "AgentWrite",
    "ChainOfAgents",
    "ChatResult",
    "CogResult",
    "CogWriter",
    "FullContext",
    "L2MAC",
    "L2MACResult",
    "NodeIO",
    "MemoryChat",
    "Pipeline",
    "RAG",
    "ReadingResult",
    "Result",
    "RetrieveThenReason",
    "UsageLog",
    "WriteResult",
    "agent_node",
    "as_node",
    "recall_node",
    "remember_node",
]
