"""The native tool protocol: OpenAI function calling with bash, read_file, write_file, edit_file, submit.

File tools run as sandboxed commands (a small Python helper), never on the host: a symlink the
model planted can then only reach what the sandbox shows, and the helper also refuses any path
that resolves outside the repository. Paths are checked on the host first too, for a clear error.
"""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import PurePosixPath
from typing import Any

from perpass.agent.environment import Environment, Outcome
from perpass.endpoints.client import ToolCall

WORKSPACE = "/workspace"
# One shell argument may hold at most 128 KiB on Linux; stay well under it.
MAX_PAYLOAD_CHARS = 100_000


def _function(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": list(properties)}}}


_STR = {"type": "string"}
TOOLS: list[dict[str, Any]] = [
    _function("bash", "Run one shell command in the repository (bash, no network); returns its output.",
              {"command": {**_STR, "description": "the command"}}),
    _function("read_file", "Read a text file of the repository.",
              {"path": {**_STR, "description": "relative path"}}),
    _function("write_file", "Create or overwrite a file with the given content.",
              {"path": {**_STR, "description": "relative path"}, "content": _STR}),
    _function("edit_file", "Replace old_text by new_text in a file; old_text must occur exactly once.",
              {"path": {**_STR, "description": "relative path"}, "old_text": _STR, "new_text": _STR}),
    _function("submit", "Finish: the work is complete (and pushed, if the task asks for it).", {}),
]
TOOL_ARGS = {t["function"]["name"]: tuple(t["function"]["parameters"]["properties"]) for t in TOOLS}

# Runs inside the sandbox with the task's Python. The working directory is the repository root.
FILE_HELPER = r"""
import base64, json, os, sys
req = json.loads(base64.b64decode(sys.argv[1]).decode())
root = os.path.realpath(os.getcwd())
path = req["path"]
full = os.path.realpath(os.path.join(root, path))
if full != root and not full.startswith(root + os.sep):
    sys.exit("error: " + path + " resolves outside the repository (symlinks out are not followed)")
tool = req["tool"]
if tool == "read_file":
    if not os.path.isfile(full):
        sys.exit("error: no such file: " + path)
    with open(full, "rb") as f:
        sys.stdout.write(f.read().decode("utf-8", "replace"))
    sys.exit(0)
if tool == "write_file":
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(req["content"])
    print("wrote %d characters to %s" % (len(req["content"]), path))
    sys.exit(0)
if not os.path.isfile(full):
    sys.exit("error: no such file: " + path)
with open(full, encoding="utf-8", errors="surrogateescape") as f:
    text = f.read()
old = req["old_text"]
count = text.count(old) if old else 0
if count != 1:
    sys.exit("error: old_text occurs %d times in %s; it must occur exactly once (copy it exactly, "
             "with enough surrounding lines to be unique)" % (count, path))
with open(full, "w", encoding="utf-8", errors="surrogateescape") as f:
    f.write(text.replace(old, req["new_text"], 1))
print("edited " + path)
"""


def check_path(path: str) -> str:
    """The path relative to the repository root, or ValueError with what is wrong."""
    if not path or "\x00" in path:
        raise ValueError("path is empty or holds a NUL byte")
    p = PurePosixPath(path)
    if p.is_absolute():
        if p == PurePosixPath(WORKSPACE) or not p.is_relative_to(WORKSPACE):
            raise ValueError(f"absolute path {path} is outside the repository; use a path relative to it")
        p = p.relative_to(WORKSPACE)
    if ".." in p.parts:
        raise ValueError(f"path {path} contains '..'; paths must stay inside the repository")
    return str(p)


def parse_arguments(call: ToolCall) -> dict[str, Any]:
    """The call's arguments, or ValueError when the tool is unknown or the arguments are invalid."""
    if call.name not in TOOL_ARGS:
        raise ValueError(f"unknown tool '{call.name}'; the tools are: {', '.join(TOOL_ARGS)}")
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as err:
        raise ValueError(f"arguments of {call.name} are not valid JSON ({err.msg} at {err.pos})") from None
    if not isinstance(args, dict):
        raise ValueError(f"arguments of {call.name} must be a JSON object")
    missing = [k for k in TOOL_ARGS[call.name] if not isinstance(args.get(k), str)]
    if missing:
        raise ValueError(f"{call.name} needs string argument(s): {', '.join(missing)}")
    return args


def describe(call: ToolCall) -> str:
    return f"{call.name}({call.arguments})"


def run_tool_call(call: ToolCall, env: Environment) -> Outcome:
    """Execute one tool call. Bad calls become error observations; nothing here raises."""
    try:
        args = parse_arguments(call)
    except ValueError as err:
        return Outcome(describe(call), f"error: {err}", format_error=True)
    if call.name == "submit":
        return Outcome("submit", "submitted", submitted=True)
    if call.name == "bash":
        return env.run(args["command"])
    try:
        args["path"] = check_path(args["path"])
    except ValueError as err:
        return Outcome(describe(call), f"error: {err}")
    payload = base64.b64encode(json.dumps({"tool": call.name, **args}).encode()).decode()
    if len(payload) > MAX_PAYLOAD_CHARS:
        return Outcome(describe(call)[:200], f"error: arguments too large ({len(payload)} encoded "
                       f"characters, limit {MAX_PAYLOAD_CHARS}); write the file in parts with bash")
    command = f"python3 -c {shlex.quote(FILE_HELPER)} {payload}"
    return env.run(command, action=describe(call))
