"""Helpers for tests and replays: the scripted OpenAI-compatible server (it lives with the endpoints,
because the `scripted` route kind serves from it)."""

from perpass.endpoints.scripted_server import FaultPlan, ScriptedServer

__all__ = ["FaultPlan", "ScriptedServer"]
