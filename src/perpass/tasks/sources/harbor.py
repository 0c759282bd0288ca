"""Harbor task folders (Terminal-Bench 2; also read by NeMo Gym and Prime Intellect's verifiers).

    task.toml          Harbor's schema: [task] name, [metadata], [verifier] / [agent] timeout_sec, [environment]
    instruction.md     the instruction
    environment/       the Docker build context: Dockerfile (+ the files it copies)
    tests/test.sh      the verifier: runs in WORKDIR, writes /logs/verifier/reward.txt (a number) or reward.json
    solution/solve.sh  the oracle

perpass runs a Harbor task under bwrap when its environment needs no image: no environment/, or a
Dockerfile made only of a Python base image (`FROM python:...`), `WORKDIR /name`, one `COPY` of a
context folder into the WORKDIR and `pip install` of packages (they become the task's cached venv,
perpass.tasks.environment). Anything else is refused when the task is loaded, with the line and the
reason: a real image needs the docker backend, which needs a container engine. The paths Harbor's scripts
use are links inside the sandbox: WORKDIR to the agent's working copy (and, at verification, to the
checkout), /tests to the hidden tests, /logs to a scratch folder of the verifier.

The verdict is the reward test.sh writes: a task passes when it is at least the threshold, 1.0 unless
[metadata] perpass_reward_threshold says otherwise (so partial credit fails by default); [metadata]
perpass_tier and perpass_allow (verifier flag classes) are read too. reward.json is
read for its "reward" key, or its only number. test.sh runs without network: the tools Harbor's test.sh
install at test time (apt-get, the uv installer, `uvx --with`, `pip install`) are read when the task is
loaded and provided offline (harbor_inside/tools.py says how); any other download is refused at load.
`RUN apt-get install` in the Dockerfile, and in test.sh, is accepted when the packages are on this host
(the sandbox sees the host's /usr).
"""

from __future__ import annotations

import functools
import posixpath
import re
import shlex
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, NoReturn

from packaging.requirements import Requirement

from perpass.errors import UserError
from perpass.sandbox.types import INSIDE_PATHS
from perpass.tasks.environment import parse_requirement, requirements_file
from perpass.tasks.model import (
    ALLOW_CLASSES,
    ID_PATTERN,
    TIERS,
    FixedPaths,
    Task,
    built_folder,
    check_solution,
    content_hash,
)
from perpass.tasks.sources.harbor_inside.tools import (
    Unsupported,
    apt_install_packages,
    parse_pip_install,
    script_installs,
)

DEFAULT_WORKDIR = "/app"
HIDDEN_TESTS, LOGS, SOLUTION = "/tests", "/logs", "/solution"
HIDDEN_DIR = "tests_hidden"
DEFAULT_THRESHOLD = 1.0
DEFAULT_ALLOW = ("argv",)  # when [metadata] perpass_allow is not given (HarborConfig.allow says why)
# Dockerfile instructions that change nothing perpass runs (the image's start command, metadata, build args).
IGNORED_INSTRUCTIONS = frozenset({"LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "MAINTAINER", "HEALTHCHECK", "STOPSIGNAL",
                                  "USER", "ARG"})
HARMLESS_ENV = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "DEBIAN_FRONTEND", "PIP_NO_CACHE_DIR",
                          "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_ROOT_USER_ACTION", "LANG", "LC_ALL", "TZ", "TERM"})
DIFFICULTY_TIERS = {"easy": "T1", "medium": "T2", "hard": "T3"}
# Top-level paths the sandbox itself makes or binds: a WORKDIR there would shadow them.
# (/workspace is allowed: it is the agent's working folder already.)
RESERVED = frozenset({"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "tmp",
                      "home", "opt", "remote.git", "tests", "logs"})
PIP_INSTALL = (("pip", "install"), ("pip3", "install"), ("python", "-m", "pip", "install"),
               ("python3", "-m", "pip", "install"))
REWARD_DIR = f"{LOGS}/verifier"
STAND_INS = f"{INSIDE_PATHS.kit}/harbor/tools.py"  # harbor_inside/tools.py, as the sandbox sees it
STAND_IN_BIN = f"{INSIDE_PATHS.kit}/harbor/bin"  # its read-only stand-ins for uv, uvx, pip, apt-get, curl...

# Runs inside the verifier's sandbox with the task Python: reads the reward test.sh wrote, exits 0 when it
# reaches the threshold (argv[1]). Whatever it prints becomes the verdict's detail.
READ_REWARD = f"""
import json, pathlib, sys
threshold, folder = float(sys.argv[1]), pathlib.Path({REWARD_DIR!r})
if (folder / "reward.json").is_file():
    data = json.loads((folder / "reward.json").read_text())
    numbers = [v for v in data.values() if isinstance(v, (int, float))] if isinstance(data, dict) else []
    reward = data.get("reward") if isinstance(data, dict) and "reward" in data else (
        numbers[0] if len(numbers) == 1 else None)
    if not isinstance(reward, (int, float)):
        sys.exit(f"reward.json has no 'reward' number: {{str(data)[:200]}}")
elif (folder / "reward.txt").is_file():
    reward = float((folder / "reward.txt").read_text().strip())
else:
    sys.exit("tests/test.sh wrote no reward (" + {REWARD_DIR!r} + "/reward.txt or reward.json)")
print(f"harbor reward {{reward}} (passes at >= {{threshold}})")
sys.exit(0 if reward >= threshold else 1)
"""


def harbor_test_command(workdir: str, threshold: float) -> str:
    """The verifier's command: run tests/test.sh in WORKDIR as Harbor does, with the offline stand-ins for
    its installers first on PATH, then judge its reward."""
    return (f"cd {shlex.quote(workdir)} && rm -rf {REWARD_DIR} && mkdir -p {REWARD_DIR} && "
            f"python3 -I {STAND_INS} install && "
            f'{{ PATH="{STAND_IN_BIN}:$PATH" bash {HIDDEN_TESTS}/test.sh; '
            f"python3 -I -c {shlex.quote(READ_REWARD)} {threshold!r}; }}")


@dataclass
class PythonImage:
    """What a Dockerfile made only of the allowed instructions amounts to."""

    workdir: str = DEFAULT_WORKDIR
    # (context file or folder, its path relative to WORKDIR; "" for WORKDIR itself), in COPY order
    copies: list[tuple[Path, str]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # `RUN mkdir -p` below WORKDIR, relative to it
    requirements: list[str] = field(default_factory=list)
    python_path: tuple[str, ...] = ()  # `ENV PYTHONPATH=/app/src`: folders of WORKDIR (Task.python_path)

    def container_file(self, path: str, context: Path) -> Path | None:
        """The build-context file a path of the image names (absolute, or relative to WORKDIR, where RUN and
        test.sh run): found through the COPY lines, the last one first, as Docker layers them."""
        workdir = PurePosixPath(self.workdir)
        target = PurePosixPath(posixpath.normpath(workdir / path))
        if target != workdir and workdir not in target.parents:
            return None
        wanted = target.relative_to(workdir).as_posix()
        for source, placed in reversed(self.copies):
            if source.is_file() and placed == wanted:
                return source
            if source.is_dir() and (placed == "" or wanted.startswith(placed + "/")):
                candidate = (source / wanted.removeprefix(placed).lstrip("/")).resolve()
                if candidate.is_file() and candidate.is_relative_to(context.resolve()):
                    return candidate
        return None

    def repository(self, digest: str) -> Path:
        """The agent's starting repository: the one folder copied into WORKDIR as it is, else the copies
        assembled (once per task content) in a folder of their own."""
        if not self.copies and not self.folders:
            return empty_repository()
        if len(self.copies) == 1 and self.copies[0][1] == "" and self.copies[0][0].is_dir() and not self.folders:
            return self.copies[0][0]

        def assemble(folder: Path) -> None:
            for made in self.folders:
                (folder / made).mkdir(parents=True, exist_ok=True)
            for source, target in self.copies:
                destination = folder / target if target else folder
                if source.is_dir():
                    shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, destination)

        return built_folder("perpass-harbor-repos", digest, assemble)


def dockerfile_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction) with continuation lines joined and comments dropped."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if pending is None and (not line or line.startswith("#")):
            continue
        start, body = pending if pending is not None else (number, "")
        if line.endswith("\\"):
            pending = (start, body + line[:-1] + " ")
            continue
        pending = None
        joined.append((start, body + line))
    if pending is not None:
        joined.append(pending)
    return joined


class DockerfileReader:
    def __init__(self, path: Path) -> None:
        self.path, self.context, self.image = path, path.parent, PythonImage()
        self.python_path_line: tuple[int, str, str] | None = None

    def refuse(self, number: int, problem: str) -> NoReturn:
        raise UserError(f"{self.path}:{number}: {problem}; perpass runs a Harbor task under bwrap only when "
                        "its Dockerfile is a python base image with WORKDIR, COPY below it, pip install and apt "
                        "packages this host has (docs/tasks.md); any other image needs the docker backend and a "
                        "container engine")

    def read(self) -> PythonImage:
        lines = dockerfile_lines(self.path.read_text(errors="replace"))
        for index, (number, line) in enumerate(lines):
            keyword, _, rest = line.partition(" ")
            keyword = keyword.upper()
            if (keyword == "FROM") != (index == 0):
                self.refuse(number, "FROM must come first, once")
            if keyword in IGNORED_INSTRUCTIONS:
                continue
            handler = {"FROM": self.from_, "WORKDIR": self.workdir, "COPY": self.copy, "ADD": self.copy,
                       "RUN": self.run, "ENV": self.env}.get(keyword)
            if handler is None:
                self.refuse(number, f"`{line[:80]}` is not allowed")
            handler(number, rest.strip())
        if self.python_path_line is not None:  # judged against the final WORKDIR, wherever ENV came
            self.python_path(*self.python_path_line)
        return self.image

    def from_(self, number: int, rest: str) -> None:
        words = [word for word in rest.split() if not word.startswith("--platform=")]
        image = words[0] if words else ""
        name = image.removeprefix("docker.io/").removeprefix("library/").split("@")[0].split(":")[0]
        # python:3.12-slim, and Terminal-Bench's python bases (ghcr.io/laude-institute/t-bench/python-3-13)
        plain = name == "python" or re.match(r"^ghcr\.io/laude-institute/t-bench/python-3-\d+$", name)
        if not plain or len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            self.refuse(number, f"base image `{rest}` is not a plain python image")

    def workdir(self, number: int, rest: str) -> None:
        parts = Path(rest).parts
        if len(parts) != 2 or parts[0] != "/" or parts[1] in RESERVED or not re.match(r"^[\w.-]+$", parts[1]):
            self.refuse(number, f"WORKDIR `{rest}` must be one top-level folder like /app, not one the "
                                f"sandbox uses ({', '.join(sorted(RESERVED))})")
        self.image.workdir = rest

    def copy(self, number: int, rest: str) -> None:
        """COPY (or ADD of local files) of context files and folders to WORKDIR or below it: they make up
        the agent's starting repository."""
        args = [a for a in shlex.split(rest) if not a.startswith(("--chown=", "--chmod=", "--link"))]
        if len(args) < 2 or any(a.startswith("-") for a in args):
            self.refuse(number, f"`COPY {rest[:80]}`: only COPY of build-context files (no --from, no options)")
        *sources, destination = args
        workdir = PurePosixPath(self.image.workdir)
        target = PurePosixPath(posixpath.normpath(workdir / destination))
        if target != workdir and workdir not in target.parents:
            self.refuse(number, f"`COPY {rest[:80]}`: {destination} is outside the WORKDIR {workdir}")
        into_folder = destination.endswith("/") or destination in (".", "./") or target == workdir or len(sources) > 1
        context = self.context.resolve()
        for pattern in sources:
            matches = sorted(context.glob(pattern)) if any(c in pattern for c in "*?[") else [context / pattern]
            for source in (path.resolve() for path in matches):
                if not source.exists() or not source.is_relative_to(context):
                    self.refuse(number, f"`COPY {rest[:80]}`: {pattern} is not in the build context")
                if re.search(r"\.(tar|tgz|tar\.\w+)$", source.name) or re.match(r"^\w+://", pattern):
                    self.refuse(number, f"`COPY {rest[:80]}`: archives and URLs are not supported")
                placed = (target / source.name if into_folder and source.is_file() else target).relative_to(workdir)
                self.image.copies.append((source, "" if placed == PurePosixPath(".") else placed.as_posix()))

    def env(self, number: int, rest: str) -> None:
        """`ENV PYTHONPATH=<WORKDIR>/<folder>[:...]` (what `perpass tasks export` writes for python_path), and
        settings that change nothing a verdict depends on (HARMLESS_ENV); nothing else."""
        words = shlex.split(rest)
        pairs = [w.partition("=")[::2] for w in words] if words and "=" in words[0] else \
            [(words[0], " ".join(words[1:]))] if words else []
        for name, value in pairs:
            if name == "PYTHONPATH":
                self.python_path_line = (number, rest, value)
            elif name not in HARMLESS_ENV:
                self.refuse(number, f"`ENV {rest[:80]}` is not allowed (only PYTHONPATH with folders of the "
                                    f"WORKDIR, and {', '.join(sorted(HARMLESS_ENV))})")

    def python_path(self, number: int, rest: str, value: str) -> None:
        prefix = self.image.workdir.rstrip("/") + "/"
        entries = value.split(":") if value else [""]
        folders = [posixpath.normpath(entry.removeprefix(prefix)) for entry in entries]
        if not all(entry.startswith(prefix) for entry in entries) \
                or any(folder.startswith(("/", "..")) or folder in (".", ".git") for folder in folders):
            self.refuse(number, f"`ENV {rest[:80]}` is not allowed (only PYTHONPATH with folders of the WORKDIR)")
        self.image.python_path = tuple(folders)

    def run(self, number: int, rest: str) -> None:
        for command in re.split(r"&&|;", rest):
            words = shlex.split(command)
            prefix = next((p for p in PIP_INSTALL if tuple(words[:len(p)]) == p), None)
            if prefix is not None:
                self.pip_args(number, words[len(prefix):])
            elif words[:1] in (["apt-get"], ["apt"]):
                absent = missing_on_host(apt_install_packages(words[1:]))
                if absent:
                    self.refuse(number, f"apt packages {', '.join(absent)} are not on this host")
            elif words[:2] == ["mkdir", "-p"] and all(self.below_workdir(w) is not None for w in words[2:]):
                self.image.folders += [f for f in (self.below_workdir(w) for w in words[2:]) if f]
            elif words[:2] != ["rm", "-rf"] or not all(w.startswith("/var/lib/apt/") for w in words[2:]):
                self.refuse(number, f"`RUN {command.strip()[:80]}` is not a pip install or apt-get install")

    def below_workdir(self, path: str) -> str | None:
        """A folder path of the image as relative to WORKDIR ("" for WORKDIR), None when outside it."""
        workdir = PurePosixPath(self.image.workdir)
        target = PurePosixPath(posixpath.normpath(workdir / path))
        if target != workdir and workdir not in target.parents:
            return None
        relative = target.relative_to(workdir).as_posix()
        return "" if relative == "." else relative

    def pip_args(self, number: int, args: list[str]) -> None:
        files: list[str] = []
        try:
            listed = parse_pip_install(args, files)
        except Unsupported as problem:
            self.refuse(number, str(problem))
        self.image.requirements += [parse_requirement(word, lambda p: self.refuse(number, p)) for word in listed]
        for name in files:
            found = self.image.container_file(name, self.context) or (self.context / name).resolve()
            if not found.is_file() or not found.is_relative_to(self.context.resolve()):
                self.refuse(number, f"requirements file {name} is not in the build context")
            self.image.requirements += requirements_file(found)


def needs_no_install(requirement: str) -> bool:
    """A bare `pytest` is already in every task Python; keeping it would make a venv of its own."""
    parsed = Requirement(requirement)
    return parsed.name.lower() == "pytest" and not parsed.specifier and not parsed.extras


class HarborConfig:
    """The parts of Harbor's task.toml perpass uses; every problem names the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, Any] = tomllib.loads(path.read_text(errors="replace"))
        except tomllib.TOMLDecodeError as err:
            raise UserError(f"{path}: malformed TOML: {err}") from None

    def fail(self, problem: str) -> NoReturn:
        raise UserError(f"{self.path}: {problem}")

    def table(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            self.fail(f"[{name}] must be a table")
        return value

    def seconds(self, section: str, default: float) -> float:
        value = self.table(section).get("timeout_sec", default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(f"[{section}] timeout_sec must be a positive number, got {value!r}")
        return float(value)

    def check_runnable(self) -> None:
        environment = self.table("environment")
        if environment.get("docker_image"):
            self.fail(f"[environment] docker_image = {environment['docker_image']!r} needs that image: the docker "
                      "backend would run it, but it needs a container engine (perpass runs Harbor tasks under "
                      "bwrap only when no image is needed)")
        if environment.get("gpus"):
            self.fail("[environment] gpus: perpass's sandboxes have no GPU")
        for section in ("verifier", "environment", "solution", "agent"):
            env = self.table(section).get("env") or {}
            named = sorted(env) if isinstance(env, dict) else ["?"]
            others = [name for name in named if name not in HARMLESS_ENV]
            if others:
                self.fail(f"[{section}] env: {', '.join(others)}: only settings that change no verdict "
                          f"({', '.join(sorted(HARMLESS_ENV))}) are read (and dropped); others are not "
                          "supported (a secret would reach the sandbox)")
        if self.table("verifier").get("environment_mode", "shared") != "shared":
            self.fail(f"[verifier] environment_mode = {self.table('verifier')['environment_mode']!r}: a verifier "
                      "environment of its own needs its image (the docker backend and a container engine)")

    def task_id(self, folder: Path) -> str:
        name = self.table("task").get("name") or folder.name
        task_id = re.sub(r"[^a-z0-9-]+", "-", str(name).split("/")[-1].lower()).strip("-")
        if not ID_PATTERN.match(task_id):
            self.fail(f"cannot make a task id from the name {name!r}; use letters, digits and dashes")
        return task_id

    def tier(self) -> str:
        metadata = self.table("metadata")
        tier = str(metadata.get("perpass_tier", "")).upper()
        return tier if tier in TIERS else DIFFICULTY_TIERS.get(str(metadata.get("difficulty", "")).lower(), "T2")

    def allow(self) -> tuple[str, ...]:
        """[metadata] perpass_allow: the verifier flag classes correct solutions need (docs/verifier.md).
        Without it, `argv`: a Harbor task's deliverable is often a program its tests run with arguments, so
        reading sys.argv is its interface, not a sign of looking for the verifier (2 of 21 public tasks
        failed their own oracle on it)."""
        value = self.table("metadata").get("perpass_allow", list(DEFAULT_ALLOW))
        if not isinstance(value, list) or any(item not in ALLOW_CLASSES for item in value):
            self.fail(f"[metadata] perpass_allow must list flag classes among {', '.join(ALLOW_CLASSES)}")
        return tuple(value)

    def threshold(self) -> float:
        value = self.table("metadata").get("perpass_reward_threshold", DEFAULT_THRESHOLD)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(f"[metadata] perpass_reward_threshold must be a positive number, got {value!r}")
        return float(value)


@functools.cache
def on_host(package: str) -> bool:
    """A Debian package installed on this host (the sandbox shows the host's /usr), or a program by that name."""
    try:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        status = None
    return (status is not None and status.stdout.endswith("installed")) or shutil.which(package) is not None


def missing_on_host(packages: list[str]) -> list[str]:
    return [package for package in packages if not on_host(package)]


def test_script_requirements(script: Path, image: PythonImage, context: Path) -> list[str]:
    """The Python packages test.sh installs at test time (they join the task venv); a UserError naming the
    line for what cannot be provided offline. Its `-r` files are found under /tests or through the COPY lines."""
    installs, problems = script_installs(script.read_text(errors="replace"))
    for name in installs.requirement_files:
        found = image.container_file(name, context)
        if name.startswith(HIDDEN_TESTS + "/"):  # the task's tests/ folder; a link or `..` leaving it is not
            found = (script.parent / name.removeprefix(HIDDEN_TESTS + "/")).resolve()
            found = found if found.is_relative_to(script.parent.resolve()) else None
        if found is None or not found.is_file():
            raise UserError(f"{script}: the requirements file {name} is in neither /tests nor the COPY lines")
        installs.requirements += requirements_file(found)
    for number, problem in problems:
        raise UserError(f"{script}:{number}: {problem}; install packages in environment/Dockerfile "
                        "(RUN pip install ...) instead")
    absent = missing_on_host(installs.apt_packages)
    if absent:
        raise UserError(f"{script}: apt packages {', '.join(absent)} are not on this host, and perpass verifies "
                        "without network (install them on the host, or use the docker backend)")

    def fail(problem: str) -> NoReturn:
        raise UserError(f"{script}: {problem}")

    return [parse_requirement(requirement, fail) for requirement in installs.requirements]


def empty_repository() -> Path:
    folder = Path(tempfile.gettempdir()) / "perpass-empty-repository"
    folder.mkdir(exist_ok=True)
    return folder


def harbor_shaped(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return any(isinstance(data.get(table), dict) for table in ("task", "verifier", "agent", "environment"))


class HarborSource:
    name: ClassVar[str] = "harbor"

    def recognises(self, folder: Path) -> bool:
        """Harbor's test.sh, with its instruction.md or a task.toml in Harbor's shape (so a missing
        instruction.md is reported as such, not as a perpass task.toml with unknown keys)."""
        return (folder / "tests" / "test.sh").is_file() and not (folder / "repo").is_dir() and (
            (folder / "instruction.md").is_file() or harbor_shaped(folder / "task.toml"))

    def load(self, folder: Path) -> Task:
        folder = Path(folder).resolve()
        config = HarborConfig(folder / "task.toml")
        config.check_runnable()
        compose = [p for p in (folder / "environment").glob("*compose*.y*ml")] if (folder / "environment").is_dir() \
            else []
        if compose:
            raise UserError(f"{compose[0]}: a docker-compose environment (services beside the task's container) "
                            "needs the docker backend and a container engine")
        if (folder / "environment").is_dir() and not (folder / "environment" / "Dockerfile").is_file():
            raise UserError(f"{folder / 'environment'}: no Dockerfile (a docker-compose environment needs the "
                            "docker backend and a container engine)")
        if (folder / "tests" / "Dockerfile").is_file():
            raise UserError(f"{folder / 'tests' / 'Dockerfile'}: a verifier image of its own needs the docker "
                            "backend and a container engine")
        dockerfile = folder / "environment" / "Dockerfile"
        image = DockerfileReader(dockerfile).read() if dockerfile.is_file() else PythonImage()
        test_requirements = test_script_requirements(folder / "tests" / "test.sh", image, dockerfile.parent)
        if not (folder / "solution" / "solve.sh").is_file():
            raise UserError(f"{folder / 'solution' / 'solve.sh'}: missing; perpass checks every task with its "
                            "oracle")
        check_solution(folder / "solution")
        if not (folder / "instruction.md").is_file():
            raise UserError(f"{folder / 'instruction.md'}: missing; a Harbor task states its instruction there")
        instruction = (folder / "instruction.md").read_text(errors="replace").strip()
        if not instruction:
            raise UserError(f"{folder / 'instruction.md'}: empty instruction")
        digest = content_hash(folder)
        return Task(
            id=config.task_id(folder), tier=config.tier(), instruction=instruction, root=folder,
            repo=image.repository(digest), tests=folder / "tests", solution=folder / "solution",
            test_command=harbor_test_command(image.workdir, config.threshold()), delivery="workspace",
            time_limit_s=config.seconds("agent", 600.0), content_hash=digest,
            hidden_dir=HIDDEN_DIR, verify_timeout_s=config.seconds("verifier", 600.0),
            requirements=tuple(dict.fromkeys(r for r in image.requirements + test_requirements
                                             if not needs_no_install(r))),
            allow=config.allow(), python_path=image.python_path,
            fixed_paths=FixedPaths(workspace=image.workdir, hidden_tests=HIDDEN_TESTS, logs=LOGS,
                                   solution=SOLUTION),
            source=self.name,
        )
