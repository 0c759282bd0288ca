"""Shared code of the verifier kit (stdlib only, Python 3.11; runs inside the verifier session)."""
