"""How todos look on the terminal."""

from model import Todo


def format_todo(todo: Todo) -> str:
    box = "[x]" if todo.done else "[ ]"
    return f"{box} {todo.id} {todo.title}"


def format_list(todos: list[Todo]) -> str:
    if not todos:
        return "nothing to do"
    return "\n".join(format_todo(t) for t in sorted(todos, key=lambda t: t.id))
