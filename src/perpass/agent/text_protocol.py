"""The text tool protocol: one fenced shell command per reply; the command `submit` finishes.

Works with any model, because it needs nothing from the server but text.
"""

from __future__ import annotations

import re

# ```bash, ```sh, ```shell, ```console or a bare ``` fence. The closing fence may be missing when the
# reply was cut at max tokens; that reply is then not parsable on purpose.
FENCE = re.compile(r"```[ \t]*(bash|sh|shell|console|zsh)?[ \t]*\n(.*?)\n?[ \t]*```",
                   re.DOTALL | re.IGNORECASE)


def parse_command(reply: str) -> str | None:
    """The shell command of a reply, or None when it has no fenced block.

    When a reply holds several blocks, the first is taken: the protocol says one command per
    reply, and the first is what the model meant to do next.
    """
    match = FENCE.search(reply or "")
    if not match:
        return None
    command = match.group(2).strip()
    if match.group(1) and match.group(1).lower() == "console":
        command = "\n".join(line.removeprefix("$ ") for line in command.splitlines())
    return command or None
