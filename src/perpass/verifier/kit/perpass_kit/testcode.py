"""Which hidden test function a collected test really calls.

Usually the collected function itself. But a hidden test file may decorate its tests with
`unittest.mock.patch` (Exercism's grep tests patch `open` on the whole TestCase class): pytest then
collects mock's `patched` wrapper, whose code lives in the standard library. Such a wrapper is looked
through only when all of this holds, so that a wrapper the repository put around a test still shows:
  - its code object is one of mock's own wrapper codes, taken before any repository code ran (a
    repository-made wrapper, or a copy of mock's under a borrowed name, is something else);
  - the function it calls (held in its closure, not merely named by `__wrapped__`) is its `__wrapped__`;
  - the function inside is in a hidden test file, and that file decorates it itself (on the function
    or on its class), as the file's source shows.
"""

from __future__ import annotations

import ast
import os
import types
from typing import Any

MAX_WRAPPERS = 8


def parse_file(path: str) -> ast.Module | None:
    """A hidden test file's syntax tree; None when it cannot be read or parsed (then it names nothing)."""
    try:
        with open(path, "rb") as handle:
            return ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None


def decorated_functions(path: str) -> set[str]:
    """Qualified names of the functions a test file decorates itself, directly or through the
    decorator of the class they are defined in."""
    tree = parse_file(path)
    if tree is None:
        return set()
    names: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str, class_decorated: bool) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.decorator_list or class_decorated:
                    names.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.", bool(node.decorator_list))

    visit(tree.body, "", False)
    return names


def mock_wrapper_codes() -> list[Any]:
    """The code objects of the wrappers unittest.mock's patch decorators return."""
    from unittest import mock

    codes = []
    for owner in (mock._patch, mock._patch_dict):
        for name in ("decorate_callable", "decorate_async_callable"):
            method = getattr(owner, name, None)
            outer = getattr(method, "__code__", None)
            if outer is not None:
                codes += [const for const in outer.co_consts if isinstance(const, types.CodeType)]
    return codes


class CalledTests:
    def __init__(self, hidden: str, test_files: list[str]) -> None:
        self.hidden = hidden
        self.decorated = {path: decorated_functions(path) for path in test_files}
        # Importing unittest.mock costs ~30 ms: only when some test is decorated at all.
        self.wrapper_codes = mock_wrapper_codes() if any(self.decorated.values()) else []

    def code_called(self, function: Any) -> Any:
        """The code of the hidden test function `function` runs, or None when it is not one (or hides
        which one it runs)."""
        function = getattr(function, "__func__", function)
        wrapped = False
        for _ in range(MAX_WRAPPERS):
            inner = self.patch_wrapped(function)
            if inner is None:
                break
            function, wrapped = inner, True
        code = getattr(function, "__code__", None) if type(function) is types.FunctionType else None
        if code is None:
            return None
        real = os.path.realpath(code.co_filename)
        if not real.startswith(self.hidden):
            return None
        if wrapped and function.__qualname__ not in self.decorated.get(real, set()):
            return None
        return code

    def patch_wrapped(self, function: Any) -> Any:
        """The function a genuine unittest.mock patch wrapper calls, or None if `function` is no such
        wrapper."""
        if type(function) is not types.FunctionType:
            return None
        if not any(function.__code__ is code for code in self.wrapper_codes):
            return None
        inner = vars(function).get("__wrapped__")
        for cell in function.__closure__ or ():
            try:
                if cell.cell_contents is inner and inner is not function:
                    return inner
            except ValueError:  # an empty cell
                continue
        return None
