"""The integrity baseline: what the test process looked like before any repository code ran, and
the list of differences found later (by the must-pass sentinel, after every hidden test, and once
more at the very end). Any difference means the run was tampered with.

Captured at pytest_collection (pytest configured, nothing collected, no repository import yet):
  - every function and class bound in pytest's, pluggy's and the kit's modules, the methods of
    their classes, and each function's code object (a `__code__` swap or a rebinding of
    `_pytest.runner.call_and_report` shows);
  - the plugins registered and every hook's implementations (a plugin registered through gc shows);
  - the builtins (a global AssertionError shows).
Checked as well: repository modules are plain .py sources loaded by the standard SourceFileLoader
from files whose sha256 matches what was materialised; no bytecode appeared in the checkout; the
hidden test files are byte for byte what the host put there; no profile or trace function is set;
test modules' globals do not shadow builtin exceptions the test file itself does not define.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import hashlib
import importlib.machinery
import os
import sys
import sysconfig
import threading
import types
from collections.abc import Callable
from typing import Any

from .testcode import CalledTests, parse_file

RUNNER_PREFIXES = ("pytest", "_pytest", "pluggy", "iniconfig", "perpass_kit")
FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, type, staticmethod, classmethod, property)


def is_runner_module(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in RUNNER_PREFIXES)


def sha256_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def module_level_names(path: str) -> set[str]:
    """Names a test file binds itself at module level (it may shadow a builtin on purpose)."""
    tree = parse_file(path)
    if tree is None:
        return set()
    names: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        pending.extend(ast.iter_child_nodes(node))
    return names


def qualname(function: Any) -> str:
    return str(getattr(function, "__qualname__", function))


def code_of(value: Any) -> Any:
    function = value.__func__ if isinstance(value, staticmethod | classmethod) else value
    return getattr(function, "__code__", None) if isinstance(function, types.FunctionType) else None


class Baseline:
    def __init__(self, checkout: str, hidden: str, manifest: dict[str, str], hidden_hashes: dict[str, str],
                 quiet: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext) -> None:
        self.quiet = quiet  # silences the audit hook for our own reads of code objects
        self.realpaths: dict[str, str] = {}
        self.checkout = os.path.join(os.path.realpath(checkout), "")
        self.hidden = os.path.join(os.path.realpath(hidden), "")
        self.manifest = manifest
        self.hidden_hashes = hidden_hashes
        paths = sysconfig.get_paths()
        self.trusted = tuple({os.path.join(os.path.realpath(paths[k]), "") for k in
                              ("stdlib", "platstdlib", "purelib", "platlib")})
        self.kit = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "")
        self.allowed_globals = {os.path.join(self.hidden, rel): module_level_names(os.path.join(self.hidden, rel))
                                for rel in hidden_hashes if rel.endswith(".py")}
        self.tests = CalledTests(self.hidden, list(self.allowed_globals))
        self.kit_modules = {name: module for name, module in sys.modules.items() if is_runner_module(name)
                            and name.startswith("perpass_kit")}
        self.owners: dict[tuple[str, ...], Any] = {}
        self.hook_relay: dict[str, Any] = {}
        self.bindings: dict[tuple[str, ...], Any] = {}
        self.codes: dict[int, tuple[Any, Any]] = {}  # id(function) -> (function, its code at capture)
        self.builtins: dict[str, Any] = {}
        self.plugins: set[int] = set()
        self.hookimpls: dict[str, list[Any]] = {}
        self.modules_before: dict[str, Any] = {}
        self.pluginmanager: Any = None
        self.captured = False

    # --- capture --------------------------------------------------------------------------------
    def capture(self, pluginmanager: Any) -> None:
        with self.quiet():
            self.capture_all(pluginmanager)

    def capture_all(self, pluginmanager: Any) -> None:
        self.pluginmanager = pluginmanager
        self.builtins = dict(vars(builtins))
        self.modules_before = dict(sys.modules)
        for name, module in list(sys.modules.items()) + list(self.kit_modules.items()):
            if module is not None and is_runner_module(name):
                self.capture_namespace((name,), module, name)
        self.plugins = {id(plugin) for plugin in pluginmanager.get_plugins()}
        self.hookimpls = self.current_hookimpls()
        self.hook_relay = dict(vars(pluginmanager.hook))
        self.captured = True

    def capture_namespace(self, key: tuple[str, ...], owner: Any, module_name: str) -> None:
        """Remember every function and class bound in a module (and in its own classes), with the
        object that holds them: the kit's modules leave sys.modules before the tests run."""
        self.owners[key] = owner
        for attr, value in list(vars(owner).items()):
            if not isinstance(value, FUNCTION_TYPES):
                continue
            self.bindings[(*key, attr)] = value
            if id(value) not in self.codes:  # a function bound under several names is read once
                code = code_of(value)
                if code is not None:
                    self.codes[id(value)] = (value, code)
            if isinstance(value, type) and len(key) == 1 and getattr(value, "__module__", None) == module_name:
                self.capture_namespace((*key, attr), value, module_name)

    def current_hookimpls(self) -> dict[str, list[Any]]:
        hooks: dict[str, list[Any]] = {}
        for name, caller in vars(self.pluginmanager.hook).items():
            get = getattr(caller, "get_hookimpls", None)
            if get is not None:
                hooks[name] = [impl.function for impl in get()]
        return hooks

    # --- check ----------------------------------------------------------------------------------
    def problems(self, full: bool = True) -> list[str]:
        """Every difference from the baseline. full=False skips re-reading the code objects (a
        `__code__` swap is an audited event anyway): the cheap second look at session finish."""
        if not self.captured:
            return ["integrity baseline never captured (pytest_collection did not run)"]
        with self.quiet():
            return self.all_problems(full)

    def where(self, filename: str) -> str:
        """'checkout', 'hidden', 'trusted' or 'elsewhere': by prefix first, the real path only when
        the prefix says nothing (module files carry the sys.path entry they were found under)."""
        for candidate in (filename, None):
            if candidate is None:
                if filename not in self.realpaths:
                    self.realpaths[filename] = os.path.realpath(filename)
                candidate = self.realpaths[filename]
            if candidate.startswith(self.checkout):
                return "checkout"
            if candidate.startswith(self.hidden):
                return "hidden"
            if candidate.startswith(self.trusted) or candidate.startswith(self.kit):
                return "trusted"
        return "elsewhere"

    def all_problems(self, full: bool) -> list[str]:
        found: list[str] = []
        found += self.runner_problems(full)
        found += self.plugin_problems()
        found += self.builtin_problems()
        found += self.hook_problems()
        found += self.module_problems()
        found += self.file_problems()
        return found

    def runner_problems(self, check_code: bool) -> list[str]:
        found = [f"{'.'.join(key)} was rebound" for key, value in self.bindings.items()
                 if vars(self.owners[key[:-1]]).get(key[-1]) is not value]
        if check_code:
            found += [f"{getattr(function, '__module__', '?')}.{qualname(function)}.__code__ was replaced"
                      for function, code in self.codes.values() if code_of(function) is not code]
        return found

    def plugin_problems(self) -> list[str]:
        relay = vars(self.pluginmanager.hook)
        found = [f"hook caller {name} was replaced" for name, caller in self.hook_relay.items()
                 if relay.get(name) is not caller]
        allowed = set(self.plugins)
        for plugin in self.pluginmanager.get_plugins():
            if id(plugin) in allowed:
                continue
            origin = getattr(plugin, "__file__", None)
            if isinstance(origin, str) and os.path.realpath(origin).startswith(self.hidden):
                allowed.add(id(plugin))  # the hidden tests' own conftest.py, registered at collection
            else:
                found.append(f"plugin registered during the run: {type(plugin).__name__} {origin or ''}".strip())
        for name, functions in self.current_hookimpls().items():
            before = self.hookimpls.get(name, [])
            for function in functions:
                if function not in before and not self.from_hidden(function):
                    found.append(f"hook {name} gained an implementation: {qualname(function)}")
            for function in before:
                if function not in functions:
                    found.append(f"hook {name} lost an implementation: {qualname(function)}")
        return found

    def from_hidden(self, function: Any) -> bool:
        code = getattr(function, "__code__", None)
        return code is not None and os.path.realpath(code.co_filename).startswith(self.hidden)

    def builtin_problems(self) -> list[str]:
        now = vars(builtins)
        # "_" is the interactive interpreter's last result; everything else, dunders included
        # (__import__, __build_class__), must stay as it was.
        found = [f"builtins.{name} was replaced" for name, value in self.builtins.items()
                 if now.get(name) is not value and name != "_"]
        found += [f"builtins.{name} was added" for name in now if name not in self.builtins and name != "_"]
        return found

    def hook_problems(self) -> list[str]:
        found = []
        if sys.getprofile() is not None:
            found.append("a profile function is set (sys.setprofile)")
        if sys.gettrace() is not None:
            found.append("a trace function is set (sys.settrace)")
        if threading.getprofile() is not None or threading.gettrace() is not None:
            found.append("a profile or trace function is set for new threads (threading)")
        return found

    def module_problems(self) -> list[str]:
        found = []
        for name, module in list(sys.modules.items()):
            filename = getattr(module, "__file__", None)
            if not isinstance(filename, str) or self.modules_before.get(name) is module:
                continue  # loaded before any repository code ran (and still the same object)
            place = self.where(filename)
            if place == "checkout":
                found += self.repo_module_problems(name, module, os.path.realpath(filename))
            elif place == "hidden":
                found += self.test_module_problems(name, module, os.path.realpath(filename))
        return found

    def repo_module_problems(self, name: str, module: Any, real: str) -> list[str]:
        rel = real[len(self.checkout):]
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None)
        if not rel.endswith(".py"):
            return [f"repository module {name} is not a .py source: {rel}"]
        if type(loader) is not importlib.machinery.SourceFileLoader:
            return [f"repository module {name} was loaded by {type(loader).__name__}, not SourceFileLoader"]
        if rel not in self.manifest:
            return [f"repository module {name} comes from {rel}, a file the delivery did not contain"]
        if sha256_of(real) != self.manifest[rel]:
            return [f"repository file {rel} changed during the run"]
        return []

    def test_module_problems(self, name: str, module: Any, real: str) -> list[str]:
        """A test module's global that stands in for a builtin exception (AssertionError turned into
        a skip) and that the test file does not define itself. Other builtins are left alone: a
        star import of a repository that defines its own `format` is not tampering."""
        allowed = self.allowed_globals.get(real, set())
        builtin_values = vars(builtins)
        return [f"test module {name}: global '{attr}' shadows the builtin"
                for attr, value in list(vars(module).items())
                if attr in builtin_values and attr not in allowed and value is not builtin_values[attr]
                and isinstance(builtin_values[attr], type) and issubclass(builtin_values[attr], BaseException)]

    def file_problems(self) -> list[str]:
        found = []
        for folder, dirs, files in os.walk(self.checkout):
            for name in dirs + files:
                if name == "__pycache__" or name.endswith((".pyc", ".pyo")):
                    rel = os.path.join(folder, name)[len(self.checkout):]
                    found.append(f"bytecode appeared in the checkout: {rel}")
        seen = set()
        for folder, _dirs, files in os.walk(self.hidden):
            for name in files:
                rel = os.path.join(folder, name)[len(self.hidden):]
                seen.add(rel)
                if self.hidden_hashes.get(rel) != sha256_of(os.path.join(folder, name)):
                    found.append(f"hidden test file {rel} was changed or added")
        found += [f"hidden test file {rel} was removed" for rel in self.hidden_hashes if rel not in seen]
        return found
