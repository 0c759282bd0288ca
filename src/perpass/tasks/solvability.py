"""Solvability lint: what the hidden tests require that an agent cannot know.

A task measures luck when its hidden tests need a name or an exact message stated nowhere the agent can
read. From each hidden test file (Python, parsed, never run) this collects
- identifiers: the names imported from the task's own modules (`from change import find_fewest_coins`),
  and attributes read off such a module (`change.find_fewest_coins`);
- messages: string literals an error message is compared with (`err.exception.args[0] == "..."`,
  `assertEqual(err.exception.args[0], "...")`, `pytest.raises(..., match="...")`);
and reports those that appear in neither the instruction nor any file of the repository the agent gets
(which holds the tests themselves when the task sets `visible_tests`).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from perpass.tasks.model import Task, task_files

KNOWN_MODULES = frozenset(sys.stdlib_module_names) | {"pytest", "_pytest"}


def mentions_exception(node: ast.AST) -> bool:
    """`err.exception.args[0]`, `str(excinfo.value)`, `exc.value.args[0]`: an error's message."""
    text = ast.unparse(node)
    return any(part in text for part in (".exception", ".value", "excinfo", ".args["))


def message_literals(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(mentions_exception(o) for o in operands):
                found |= {o.value for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)}
        elif isinstance(node, ast.Call):
            if any(mentions_exception(a) for a in node.args):
                found |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            found |= {k.value.value for k in node.keywords if k.arg == "match" and isinstance(k.value, ast.Constant)
                      and isinstance(k.value.value, str)}
    return found


def required_identifiers(tree: ast.AST, own_modules: set[str]) -> set[str]:
    found: set[str] = set()
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in own_modules:
            found |= {alias.name for alias in node.names if alias.name != "*"}
        elif isinstance(node, ast.Import):
            aliases |= {(a.asname or a.name) for a in node.names if a.name.split(".")[0] in own_modules}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.add(node.attr)
    return found


def own_modules(repo: Path) -> set[str]:
    """Top-level modules and packages of the repository (what the tests may import from it)."""
    return {p.stem for p in repo.glob("*.py")} | {p.name for p in repo.iterdir() if (p / "__init__.py").is_file()}


def unstated_requirements(task: Task) -> list[str]:
    """Identifiers and messages the hidden tests need that neither the instruction nor the repo contains."""
    readable = task.instruction + "\n" + "\n".join(
        p.read_text(errors="replace") for p in task_files(task.repo) if p.is_file() and p.stat().st_size < 1 << 20)
    modules = own_modules(task.repo) - KNOWN_MODULES
    needed: set[str] = set()
    for path in task_files(task.tests):
        if path.suffix != ".py" or path.is_symlink():
            continue
        try:
            tree = ast.parse(path.read_text(errors="replace"))
        except SyntaxError:
            continue
        needed |= required_identifiers(tree, modules) | message_literals(tree)
    return sorted(item for item in needed if item and item not in readable)
