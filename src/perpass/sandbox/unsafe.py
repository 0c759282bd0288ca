"""The `none` backend: no sandbox. The supervisor runs directly on the host, as perpass's own user.

UNSAFE: the model's commands can read and write anything perpass can (your files, the hidden tests,
the run store, the network). Only the timeouts, the output cap, the per-process limits and the
session's process/memory/CPU accounting still apply; there is no disk quota. Use it only with models and
tasks you trust, on a throwaway machine; it must be chosen by name (`--sandbox none`)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from perpass.errors import UserError
from perpass.sandbox.bwrap import COMMAND_ENV
from perpass.sandbox.errors import SandboxError
from perpass.sandbox.kit import kit_dir
from perpass.sandbox.session import SessionSpec, SupervisorSession, supervisor_config
from perpass.sandbox.task_python import task_python
from perpass.sandbox.types import INSIDE_PATHS, SessionPaths


class UnsafeBackend:
    name: ClassVar[str] = "none"

    def start(self, spec: SessionSpec) -> SupervisorSession:
        if spec.links:
            # The links would have to be made on the host's own root: never.
            raise SandboxError(f"{spec.label} needs the paths {', '.join(p for p, _ in spec.links)} made inside "
                               "the sandbox; --sandbox none cannot (it would change the host); use bwrap")
        if spec.mounts:  # they would need folders at fixed paths on the host itself
            raise UserError("the none sandbox cannot show installed agents or the metering gateway; "
                            "run external agents with --sandbox bwrap")
        try:
            python = spec.venv / "bin" / "python" if spec.venv is not None else task_python()
            kit = kit_dir()
        except (OSError, RuntimeError) as exc:
            raise SandboxError(f"sandbox set-up: {exc}") from None
        root = Path(tempfile.mkdtemp(prefix="perpass-unsafe-"))
        paths = SessionPaths(workspace=str(root / "work"), home=str(root / "home"), tmp=str(root / "tmp"),
                             remote=str(root / "remote.git"), kit=str(kit))
        env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": paths.home, "TMPDIR": paths.tmp, **COMMAND_ENV,
               # origin is /remote.git (the sandbox's path); on the host, rewrite it to the real folder.
               "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{paths.remote}.insteadOf",
               "GIT_CONFIG_VALUE_0": INSIDE_PATHS.remote}
        config = supervisor_config(spec, paths, env, pid1=False, nproc=True,
                                   make_dirs=(paths.workspace, paths.home, paths.tmp, paths.remote))
        stderr = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen([str(python), "-I", "-S", str(kit / "sandbox" / "supervisor.py"), config],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    cwd=root, start_new_session=True, env={"PATH": "/usr/bin:/bin"})
        except OSError as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise SandboxError(f"cannot start the unsandboxed session: {exc}") from None
        session = SupervisorSession(self.name, proc, paths, spec, stderr, proc.pid,
                                    on_close=lambda: shutil.rmtree(root, ignore_errors=True), pid_namespace=False)
        session.wait_ready()
        return session
