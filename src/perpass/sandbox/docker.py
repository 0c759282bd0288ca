"""The `docker` backend: the session's supervisor as PID 1 of a container (Docker, or Podman with the
same command line), for tasks that name an image.

Not exercised on perpass's own CI machine, which has a Docker client but no engine: there `start`
refuses with the reason, as it does when neither `docker` nor `podman` is installed. The container gets
what the bwrap sandbox gets: no network, no capabilities, no_new_privs, an unprivileged uid, a read-only
root, size-limited tmpfs for the writable folders, a pids limit and a memory limit. The image must
provide `python3` (3.8+) for the supervisor, and whatever the task's tests need."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from typing import ClassVar

from perpass.errors import UserError
from perpass.sandbox.bwrap import AGENT_UID, COMMAND_ENV
from perpass.sandbox.errors import SandboxError
from perpass.sandbox.kit import kit_dir
from perpass.sandbox.session import SessionSpec, SupervisorSession, supervisor_config
from perpass.sandbox.types import INSIDE_PATHS

DEFAULT_IMAGE = "python:3.11-slim"


def container_engine() -> str:
    """The first of docker / podman whose engine answers; UserError naming what is missing otherwise."""
    problems = []
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path is None:
            problems.append(f"{name}: not installed")
            continue
        try:
            done = subprocess.run([path, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                                  text=True, timeout=15)
        except subprocess.TimeoutExpired:
            problems.append(f"{name}: the engine did not answer in 15 s")
            continue
        if done.returncode == 0:
            return path
        problems.append(f"{name}: {(done.stderr or done.stdout).strip().splitlines()[-1:] or ['no engine']}")
    raise UserError("the docker sandbox needs a running Docker or Podman engine; " + "; ".join(problems))


class DockerBackend:
    name: ClassVar[str] = "docker"

    def __init__(self, image: str = DEFAULT_IMAGE) -> None:
        self.engine = container_engine()
        self.image = image

    def start(self, spec: SessionSpec) -> SupervisorSession:
        if spec.links or spec.venv is not None:
            raise SandboxError(f"{spec.label}: the docker backend does not yet make a task's own paths or "
                               "mount its dependency venv; use bwrap")
        limits = spec.limits
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": INSIDE_PATHS.home, "TMPDIR": INSIDE_PATHS.tmp,
               **COMMAND_ENV}
        config = supervisor_config(spec, INSIDE_PATHS, env, pid1=True, nproc=False)
        mounts = []
        for path, size in ((INSIDE_PATHS.workspace, limits.disk_mb), (INSIDE_PATHS.tmp, limits.tmp_mb),
                           (INSIDE_PATHS.home, limits.home_mb), (INSIDE_PATHS.remote, limits.remote_mb)):
            mounts += ["--tmpfs", f"{path}:size={size}m,uid={AGENT_UID},gid={AGENT_UID},mode=0755,exec"]
        argv = [self.engine, "run", "-i", "--rm", "--network", "none", "--user", f"{AGENT_UID}:{AGENT_UID}",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only",
                "--pids-limit", str(limits.processes), "--memory", f"{limits.memory_mb}m",
                *mounts, "-v", f"{kit_dir()}:{INSIDE_PATHS.kit}:ro", "-w", INSIDE_PATHS.workspace,
                self.image, "python3", "-I", "-S", f"{INSIDE_PATHS.kit}/sandbox/supervisor.py", config]
        stderr = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    start_new_session=True)
        except OSError as exc:
            raise SandboxError(f"cannot start {self.engine}: {exc}") from None
        session = SupervisorSession(self.name, proc, INSIDE_PATHS, spec, stderr)
        session.wait_ready()
        return session
