"""The metering gateway: the one door between an external agent in its sandbox and the route's model.

See docs/agents.md: one gateway per episode, on a Unix socket bound into the sandbox, metering and
budgeting every call the agent makes."""

from perpass.agent.gateway.server import GATEWAY_PORT, GatewayCall, MeteringGateway

__all__ = ["GATEWAY_PORT", "GatewayCall", "MeteringGateway"]
