"""Tasks: the task format and loader, built-in packs, oracle replies and the pack check (the verifier is
perpass.verifier).

A task is a starting repository, an instruction, hidden tests and an oracle solution; see
docs/tasks.md for the folder format.
"""

from perpass.tasks.catalog import builtin_tasks, select_tasks
from perpass.tasks.model import TIERS, Task, content_hash
from perpass.tasks.oracle import oracle_replies
from perpass.tasks.sources import load_task

__all__ = ["TIERS", "Task", "builtin_tasks", "content_hash", "load_task", "oracle_replies", "select_tasks"]
