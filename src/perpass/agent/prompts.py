"""What the agent is told: system prompt variants and the protocol instructions of the first message.

Variants are chosen per route by `harness.system_prompt`. These texts are part of the experiment
(changing one is an OFAT factor), so they live here, in one place, and never change mid-episode.
"""

from __future__ import annotations

from perpass.errors import UserError

SYSTEM_PROMPTS: dict[str, str] = {
    "default": (
        "You are an autonomous coding agent working in a git repository inside a Linux shell.\n"
        "Work in small steps: read the relevant files, make the change, run the tests, fix what fails.\n"
        "Nobody will answer questions; decide yourself. When the work is complete and delivered, submit."
    ),
    "terse": "You are a coding agent in a Linux shell, inside a git repository. Act; do not explain.",
}

TEXT_PROTOCOL = (
    "## How to act\n"
    "Reply with exactly ONE shell command in a fenced block, like this:\n"
    "```bash\nls\n```\n"
    "The command runs in the repository (bash, no network) and you get its output back. "
    "One command per reply; chain with && if needed. Edit files with shell tools "
    "(cat <<'EOF' > file, sed, python).\n"
    "When you are done, reply with:\n```bash\nsubmit\n```"
)

NATIVE_PROTOCOL = (
    "## How to act\n"
    "Use the tools: bash (run a shell command in the repository, no network), read_file, write_file, "
    "edit_file (replace an exact piece of text that occurs once), and submit when you are done. "
    "Paths are relative to the repository root."
)

PUSH_DELIVERY = ("Your work is checked on what you push: commit it and run `git push origin main` "
                 "before you submit.")
WORKSPACE_DELIVERY = "Your work is checked on the repository as you leave it."

TEXT_FORMAT_ERROR = ("Your reply had no command I could run. Reply with exactly one shell command in a "
                     "```bash fenced block, or ```bash\nsubmit\n``` when you are done.")
NATIVE_FORMAT_ERROR = "Your reply called no tool. Call one of the tools, or submit when you are done."


def system_prompt(name: str) -> str:
    if name not in SYSTEM_PROMPTS:
        known = ", ".join(sorted(SYSTEM_PROMPTS))
        raise UserError(f"harness.system_prompt: unknown prompt '{name}'; use one of: {known}")
    return SYSTEM_PROMPTS[name]


def first_message(instruction: str, protocol: str, delivery: str) -> str:
    how = TEXT_PROTOCOL if protocol == "text" else NATIVE_PROTOCOL
    deliver = PUSH_DELIVERY if delivery == "push" else WORKSPACE_DELIVERY
    return f"## Task\n{instruction.strip()}\n\n{deliver}\n\n{how}"


def format_error_message(protocol: str) -> str:
    return TEXT_FORMAT_ERROR if protocol == "text" else NATIVE_FORMAT_ERROR
