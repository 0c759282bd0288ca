"""A PEP 578 audit hook, installed before pytest or any repository module is imported.

It cannot be removed, and it sees the runtime operations the tricks in docs/verifier.md need:
profile/trace hooks, audit hooks, fork and child processes, gc walks, code-object creation and
`__code__` replacement, frame access, ctypes, compile() under a borrowed file name, and any look
at the hidden tests' folder or at /proc/self/{fd,mem,...}. An event is flagged only when the code
responsible is the repository's (see `Auditor.culprit`), so pytest, the standard library and the
hidden tests do all of that freely. Flags go to the channel at once, as sealed records: an
`os._exit` right after cannot take them back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

from .channel import Channel

CODE_ATTRIBUTES = frozenset({"__code__"})
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
PROC_SECRETS = ("fd", "fdinfo", "mem", "maps", "environ", "cmdline", "task", "stack", "syscall")
# Standard-library modules that only pass a frame request on: inspect.stack() asks sys._getframe on
# behalf of its caller, so its caller is the one looking.
TRANSPARENT = ("inspect.py",)
MAX_FLAGS = 200
# Source lines for tracebacks and warnings: reading a hidden test file's lines that way is not a look
# at the tests, unless the repository called linecache itself.
BENIGN_READERS = ("linecache.py", "tokenize.py")
AUDIT_FILE = __file__


def stdlib_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({os.path.join(paths[key], "") for key in ("stdlib", "platstdlib")})


class Auditor:
    """Decides, per audit event, whether repository code did something a test run never needs."""

    def __init__(self, channel: Channel | None, checkout: str, hidden: str) -> None:
        self.channel = channel
        self.checkout = os.path.join(os.path.realpath(checkout), "")
        self.hidden = os.path.join(os.path.realpath(hidden), "")
        self.stdlib = stdlib_prefixes()
        self.busy = threading.local()
        self.main_thread = threading.main_thread()
        self.flagged: set[tuple[str, str, str]] = set()
        self.count = 0
        rules: dict[str, Callable[[str, tuple[Any, ...]], None]] = {
            "sys._getframe": self.on_frame, "sys._current_frames": self.on_frame,
            "object.__getattr__": self.on_getattr, "object.__setattr__": self.on_setattr,
            "code.__new__": self.strong("hooks"), "sys.setprofile": self.strong("hooks"),
            "sys.settrace": self.strong("hooks"), "sys.addaudithook": self.strong("hooks"),
            "compile": self.on_compile, "marshal.loads": self.on_marshal,
        }
        for event in ("gc.get_objects", "gc.get_referrers", "gc.get_referents"):
            rules[event] = self.strong("introspection")
        for event in ("ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.addressof", "ctypes.cdata",
                      "ctypes.cdata/buffer", "ctypes.call_function", "ctypes.string_at", "ctypes.wstring_at",
                      "ctypes.create_string_buffer", "ctypes.create_unicode_buffer", "ctypes.set_errno",
                      "ctypes.set_exception", "ctypes.get_errno"):
            rules[event] = self.strong("introspection")
        for event in ("os.fork", "os.forkpty", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                      "os.spawn", "os.kill", "os.killpg", "pty.spawn"):
            rules[event] = self.strong("process")
        for event in ("open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.rmdir", "os.chmod",
                      "os.truncate", "os.utime", "os.mkdir", "os.chown", "shutil.rmtree", "shutil.move",
                      "shutil.copyfile", "shutil.copytree", "os.symlink", "os.link"):
            rules[event] = self.on_path
        self.rules = rules

    # --- the hook -------------------------------------------------------------------------------
    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        rule = self.rules.get(event)
        if rule is None or getattr(self.busy, "on", False):
            return
        self.busy.on = True
        try:
            rule(event, args)
        except Exception:  # noqa: BLE001 - a broken rule must never break the tested code
            pass
        finally:
            self.busy.on = False

    def install(self) -> None:
        sys.addaudithook(self.hook)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """The kit's own integrity checks read thousands of code objects: no rule runs for them.
        Thread-local, so a repository thread running meanwhile is still watched."""
        before = getattr(self.busy, "on", False)
        self.busy.on = True
        try:
            yield
        finally:
            self.busy.on = before

    # --- who is responsible ---------------------------------------------------------------------
    def kind_of(self, filename: str) -> str:
        if filename.startswith(self.checkout):
            return "repo"
        if filename.startswith("<frozen") or filename.startswith(self.stdlib):
            return "stdlib"
        if filename.startswith("<"):
            return "synthetic"  # exec()'d text: whoever ran exec is responsible
        return "other"  # pytest, the kit, the hidden tests

    def culprit(self, through_stdlib: bool, transparent: tuple[str, ...] = (),
                benign: tuple[str, ...] = ()) -> str | None:
        """'file:line' of the repository frame responsible for the current event, or None.

        Frames of exec()'d strings are looked through. With through_stdlib, standard-library frames
        are looked through too (a repository calling gc.get_objects via some helper is still the
        repository); otherwise the first stdlib frame ends the search (collections.namedtuple asking
        for its caller's frame is the standard library's business), except for the `transparent`
        files (inspect.stack() asks for frames on its caller's behalf). An event raised inside a
        `benign` stdlib file that the repository did not call itself is nobody's doing (linecache
        reading a test file's lines for a traceback the repository formats)."""
        frame: FrameType | None = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == AUDIT_FILE:
            frame = frame.f_back  # the hook and its rules
        saw_benign, callee = False, ""
        while frame is not None:
            filename = frame.f_code.co_filename
            kind = self.kind_of(filename)
            if kind == "repo":
                if saw_benign and not callee.endswith(benign):
                    return None
                return f"{filename[len(self.checkout):]}:{frame.f_lineno}"
            if kind == "other":
                return None
            if kind == "stdlib":
                if not through_stdlib and not (transparent and filename.endswith(transparent)):
                    return None
                saw_benign = saw_benign or bool(benign) and filename.endswith(benign)
                callee = filename
            frame = frame.f_back
        if through_stdlib and threading.current_thread() is not self.main_thread:
            # A thread started on a standard-library target (Thread(target=ctypes.memmove)) has no
            # repository frame at all; the verifier itself starts no threads, so the repository did.
            return "a thread with no caller"
        return None

    def flag(self, cls: str, event: str, where: str, detail: str = "") -> None:
        key = (cls, event, where)
        if key in self.flagged or self.count >= MAX_FLAGS or self.channel is None:
            return
        self.flagged.add(key)
        self.count += 1
        self.channel.send("flag", cls=cls, event=event, where=where, detail=detail)

    # --- rules ----------------------------------------------------------------------------------
    def strong(self, cls: str) -> Callable[[str, tuple[Any, ...]], None]:
        def rule(event: str, args: tuple[Any, ...]) -> None:
            where = self.culprit(through_stdlib=True)
            if where:
                self.flag(cls, event, where)
        return rule

    def on_frame(self, event: str, args: tuple[Any, ...]) -> None:
        where = self.culprit(through_stdlib=False, transparent=TRANSPARENT)
        if where:
            self.flag("stack", event, where)

    def on_getattr(self, event: str, args: tuple[Any, ...]) -> None:
        if len(args) < 2:
            return
        if args[1] in FRAME_ATTRIBUTES:
            where = self.culprit(through_stdlib=False, transparent=TRANSPARENT)
            if where:
                self.flag("stack", f"{event} {args[1]}", where)
        elif args[1] in CODE_ATTRIBUTES:  # reading code objects: the step before forging or rewriting them
            where = self.culprit(through_stdlib=False)
            if where:
                self.flag("hooks", f"{event} {args[1]}", where, repr(args[0])[:120])

    def on_setattr(self, event: str, args: tuple[Any, ...]) -> None:
        if len(args) >= 2 and args[1] in CODE_ATTRIBUTES:
            where = self.culprit(through_stdlib=True)
            if where:
                self.flag("hooks", f"{event} {args[1]}", where, repr(args[0])[:120])

    def on_compile(self, event: str, args: tuple[Any, ...]) -> None:
        filename = args[1] if len(args) >= 2 else None
        if isinstance(filename, bytes):
            filename = os.fsdecode(filename)
        if not isinstance(filename, str) or filename.startswith("<"):
            return
        if os.path.realpath(filename).startswith(self.checkout):
            return
        where = self.culprit(through_stdlib=False)
        if where:
            self.flag("dynamic", "compile under a borrowed file name", where, filename[:200])

    def on_marshal(self, event: str, args: tuple[Any, ...]) -> None:
        # importlib unmarshals cached bytecode from frozen frames; a repository doing it itself is
        # building code objects behind the source's back.
        where = self.culprit(through_stdlib=False)
        if where:
            self.flag("dynamic", event, where)

    def on_path(self, event: str, args: tuple[Any, ...]) -> None:
        path = args[0] if args else None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return
        absolute = self.absolute(path)
        if self.secret_path(absolute, event, args):
            where = self.culprit(through_stdlib=True, benign=BENIGN_READERS)
            if where:
                self.flag("verifier", event, where, path[:200])
        elif event in ("os.symlink", "os.link", "os.rename", "shutil.copytree", "shutil.move") and len(args) > 1:
            self.on_path(f"{event} (second path)", args[1:])

    @staticmethod
    def absolute(path: str) -> str:
        if not path.startswith("/"):
            path = os.path.join(os.getcwd(), path)
        return os.path.normpath(path) if ("/." in path or "//" in path) else path

    def secret_path(self, absolute: str, event: str, args: tuple[Any, ...]) -> bool:
        """The hidden tests' folder (listing it, reading its .py files, changing anything in it),
        and the process's own descriptors and memory under /proc and /dev/fd."""
        if os.path.join(absolute, "").startswith(self.hidden):
            if event == "open":
                return absolute.endswith(".py") or writes(args)
            return True
        if absolute.startswith("/dev/fd"):
            return True
        parts = absolute.split("/", 4)
        return len(parts) >= 4 and parts[1] == "proc" and parts[3] in PROC_SECRETS


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def writes(args: tuple[Any, ...]) -> bool:
    """Whether an "open" event (path, mode, flags) opens for writing."""
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)
