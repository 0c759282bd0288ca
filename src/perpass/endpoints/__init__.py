"""Model endpoints: the OpenAI-compatible client, usage normalisation, local server launcher."""

from perpass.endpoints.client import ChatReply, Endpoint, EndpointError, ToolCall
from perpass.endpoints.usage import Usage, normalise_usage

__all__ = ["ChatReply", "Endpoint", "EndpointError", "ToolCall", "Usage", "normalise_usage"]
