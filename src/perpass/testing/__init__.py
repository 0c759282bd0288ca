"""Test helpers that are real parts: a scripted OpenAI-compatible HTTP server."""

from perpass.testing.scripted_server import FaultPlan, ScriptedServer

__all__ = ["FaultPlan", "ScriptedServer"]
