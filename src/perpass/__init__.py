"""perpass: rank and route LLMs for coding agents by cost-per-pass."""

__version__ = "0.1.0"
