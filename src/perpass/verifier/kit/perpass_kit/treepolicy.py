"""What may enter a materialised checkout: size caps checked before anything is written, and the
files dropped because they would change how Python or pytest behave rather than what the code does.

Every rule here is about the import system, not about taste: a file is dropped only when its mere
presence can run code before the hidden tests do (start-up hooks, conftest), replace a module we
rely on (shadowing), or make Python load something other than the source we scanned (bytecode,
native extensions).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

# Top-level names a repository may not define: the standard library (including modules this Python
# was built without, such as tkinter, which would otherwise import from the checkout), the test
# runner and its dependencies, and the kit itself.
RUNNER_MODULES = frozenset({"pytest", "_pytest", "pluggy", "py", "iniconfig", "packaging", "pygments",
                            "perpass_kit"})
PROTECTED_TOP_LEVEL = frozenset(sys.stdlib_module_names) | RUNNER_MODULES

BYTECODE_SUFFIXES = (".pyc", ".pyo")
NATIVE_SUFFIXES = (".so", ".pyd")
STARTUP_HOOKS = frozenset({"sitecustomize.py", "usercustomize.py"})


@dataclass(frozen=True)
class Caps:
    """Limits on the delivered tree, all checked on the listing before one byte is written."""

    max_bytes: int = 256 * 1024 * 1024
    max_files: int = 20_000
    max_depth: int = 40  # path components
    max_path: int = 1024  # bytes of the relative path


class Oversized(Exception):
    """The tree breaks a cap; nothing has been written."""


RawPath = bytes  # a path as git or tar gives it (CapCounter's field `bytes` shadows the builtin there)


class Unreadable(Exception):
    """The delivery cannot be turned into a tree (corrupt objects, a submodule, a path conflict)."""


@dataclass
class CapCounter:
    """Counts entries as a listing streams in and raises Oversized at the first cap broken, so a
    tree of a billion paths is refused after max_files + 1 of them."""

    caps: Caps
    files: int = 0
    bytes: int = 0

    def add(self, path: RawPath, size: int) -> None:
        self.files += 1
        self.bytes += max(size, 0)
        if self.files > self.caps.max_files:
            raise Oversized(f"more than {self.caps.max_files} files")
        if self.bytes > self.caps.max_bytes:
            raise Oversized(f"more than {self.caps.max_bytes} bytes in total (at {shown(path)}, {size} bytes)")
        if path.count(b"/") + 1 > self.caps.max_depth:
            raise Oversized(f"path deeper than {self.caps.max_depth} folders: {shown(path)[:200]}...")
        if len(path) > self.caps.max_path:
            raise Oversized(f"path longer than {self.caps.max_path} bytes: {shown(path)[:200]}...")


def shown(path: bytes | str) -> str:
    """A path as printable text (undecodable bytes as \\x escapes), for reports."""
    raw = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace")


def unsafe_name(path: bytes) -> bool:
    """Absolute, empty, '.' or '..' components: a tree entry that would land outside the checkout."""
    return path.startswith(b"/") or any(part in (b"", b".", b"..") for part in path.split(b"/"))


@dataclass
class Plan:
    """The entries to write (kept) and the ones dropped, with why."""

    kept: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)


def file_drop_reason(path: str) -> str | None:
    """Why this one path may not enter the checkout, judging the path alone."""
    parts = path.split("/")
    name = parts[-1]
    if ".git" in parts:
        return "git metadata"
    if "__pycache__" in parts:
        return "bytecode cache (__pycache__)"
    if name.endswith(BYTECODE_SUFFIXES):
        return "compiled bytecode: Python may run it instead of the source beside it"
    if name.endswith(NATIVE_SUFFIXES):
        return "native extension module: it would be imported before the .py source"
    if name.endswith(".pth"):
        return "path configuration file (.pth) runs code at interpreter start"
    if name in STARTUP_HOOKS:
        return "interpreter start-up hook"
    if name == "conftest.py":
        return "conftest.py: only the hidden tests' own conftest files are used"
    if len(parts) == 1 and name.endswith(".py") and name[:-3] in PROTECTED_TOP_LEVEL:
        return f"shadows the module '{name[:-3]}' (standard library or test runner)"
    return None


def plan_tree(paths: list[str]) -> Plan:
    """Split the delivered paths into kept and dropped ones.

    Besides the per-path rules, a package folder `X/` (it has an `__init__.py`) is dropped whole when
    it sits next to a module `X.py` (the package would win the import) or when `X` is a protected
    top-level name."""
    plan = Plan()
    present = set(paths)
    packages = {p[: -len("/__init__.py")] for p in paths if p.endswith("/__init__.py")}
    shadowing: dict[str, str] = {}
    for package in packages:
        if f"{package}.py" in present:
            shadowing[package] = f"package folder {package}/ would shadow the module {package}.py"
        elif "/" not in package and package in PROTECTED_TOP_LEVEL:
            shadowing[package] = (f"package folder {package}/ shadows the module '{package}' "
                                  "(standard library or test runner)")
    for path in paths:
        reason = file_drop_reason(path)
        if reason is None:
            reason = next((why for package, why in shadowing.items() if path.startswith(package + "/")), None)
        if reason is None:
            plan.kept.append(path)
        else:
            plan.dropped[path] = reason
    return plan
