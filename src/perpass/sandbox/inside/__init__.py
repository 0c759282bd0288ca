"""Code that runs INSIDE a sandbox session (the supervisor and what it needs), with the task Python.

Standard library only, no import of perpass: inside the sandbox only this folder is visible (read-only,
at /opt/perpass-kit/sandbox). The host imports the same modules, so the wire format has one copy."""
