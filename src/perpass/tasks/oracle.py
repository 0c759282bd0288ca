"""The oracle's replies: a task's solution/ played through the text protocol, like a model would.

The replies carry only the solution, never the hidden tests, so an oracle pass proves the task is
solvable from what an agent can see.
"""

from __future__ import annotations

from perpass.tasks.model import Task

PUSH_COMMAND = 'git add -A && git commit -qm "oracle" && git push -q origin HEAD:main'
PATCH_END = "PERPASS_ORACLE_PATCH_END"


def block(command: str) -> str:
    return f"```bash\n{command.rstrip()}\n```"


def solution_command(task: Task) -> str:
    """The solve.sh text itself (run by bash with cwd = repository), or a patch applied by git."""
    if task.solve_script is not None:
        return task.solve_script.read_text()
    assert task.solution_patch is not None  # load_task refuses a task without an oracle
    patch = task.solution_patch.read_text()
    return f"git apply --whitespace=nowarn - <<'{PATCH_END}'\n{patch.rstrip()}\n{PATCH_END}"


def oracle_command(task: Task) -> str:
    """What the oracle runs: solve.sh from where the task's solution folder is shown (Harbor's
    `bash /solution/solve.sh`, so a solve.sh that runs files beside it works), else its text."""
    if task.fixed_paths.solution and task.solve_script is not None:
        return f"bash {task.fixed_paths.solution}/{task.solve_script.relative_to(task.solution).as_posix()}"
    return solution_command(task)


def oracle_replies(task: Task) -> list[str]:
    """Replies for the text protocol: apply the solution, commit and push (push delivery), submit."""
    replies = [f"Applying the reference solution.\n\n{block(oracle_command(task))}"]
    if task.delivery == "push":
        replies.append(f"Committing and pushing.\n\n{block(PUSH_COMMAND)}")
    replies.append(block("submit"))
    return replies
