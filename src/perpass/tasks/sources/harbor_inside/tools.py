"""Harbor's test.sh installs its own test tools, with network, every time it runs:

    apt-get update && apt-get install -y curl
    curl -LsSf https://astral.sh/uv/0.9.5/install.sh | sh && source $HOME/.local/bin/env
    uvx -p 3.13 -w pytest==8.4.1 -w pytest-json-ctrf==0.3.5 pytest --ctrf /logs/verifier/ctrf.json /tests/...

perpass verifies without network. So the same words are read twice. When the task is loaded (on the host,
`script_installs`): the Python packages they name (`uvx --with`, `uv run --with`, `uv pip install`,
`pip install`) join the task's requirements and go into its cached venv; the apt packages they name must
already be on this host (the sandbox sees the host's /usr); anything else that would download at test time
is refused with the line. When test.sh runs (in the verifier's sandbox, `main`): stand-ins for `uv`, `uvx`,
`pip`, `apt-get`, `apt`, `curl` and `wget` (bin/, read-only) sit first on PATH, and `$HOME/.local/bin/env`,
which test.sh sources after uv's installer, keeps them there. They run the named tool from the task's
venv, confirm what a `pip install` asks for is already there, skip apt, and turn the uv installer's
download into an empty script; every other curl or wget call runs the real program. Only the versions
differ from Harbor's: the task's Python, not `-p 3.13`.

Standard library only (Python 3.11): it also runs inside the sandbox, from /opt/perpass-kit/harbor/.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

UV_INSTALLER = re.compile(r"^https?://(www\.)?astral\.sh/uv/")
LOCAL_URL = re.compile(r"^(https?://)?(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\])([:/]|$)")
REFUSED = {"apk": "apk", "yum": "yum", "dnf": "dnf", "conda": "conda", "mamba": "mamba", "micromamba": "micromamba",
           "brew": "brew", "npm": "npm", "npx": "npx"}
# pip install options that change how, not what, is installed (Dockerfile RUN and test.sh alike)
PIP_QUIET_FLAGS = frozenset({"-q", "-qq", "-qqq", "--quiet", "-U", "--upgrade", "--no-cache-dir", "--no-cache",
                             "--system", "--break-system-packages", "--no-input", "--disable-pip-version-check",
                             "--user", "--no-warn-script-location", "--prefer-binary", "--compile", "--no-compile",
                             "-v", "--verbose", "--force-reinstall", "--ignore-installed", "-I", "--isolated"})
PIP_VALUE_OPTIONS = frozenset({"--retries", "--timeout", "--progress-bar", "--only-binary", "--no-binary",
                               "--root-user-action", "--upgrade-strategy", "--python-version", "--cache-dir"})
UVX_VALUE_OPTIONS = frozenset({"-p", "--python", "-w", "--with", "--from", "--cache-dir", "--directory",
                               "--project", "--color"})
UVX_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--isolated", "--no-cache", "-n", "--offline",
                       "--refresh", "--no-progress", "--no-config", "--no-project", "--active", "--exact",
                       "--no-sync", "--frozen", "--locked", "--no-python-downloads", "--managed-python"})
APT_QUIET_FLAGS = frozenset({"-y", "--yes", "-q", "-qq", "--quiet", "--no-install-recommends",
                             "--no-install-suggests", "--assume-yes", "-f", "--fix-missing"})
SHELL_WORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
                         "exec", "command", "sudo", "env"})
OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"})


class Unsupported(Exception):
    """A test-time install perpass cannot do without network (the message says which and why)."""


@dataclass
class Installs:
    """What a test.sh asks to install, found when the task is loaded."""

    requirements: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)  # `pip install -r PATH`, as test.sh names them
    apt_packages: list[str] = field(default_factory=list)


def split_requirements(value: str) -> list[str]:
    """`--with a,b>=1,<2` holds several packages: split at commas that start a new name."""
    return [part.strip() for part in re.split(r",(?=\s*[A-Za-z])", value) if part.strip()]


def option_value(args: list[str], index: int) -> tuple[str, int]:
    """The value of the option at args[index] (`--opt value` or `--opt=value`) and the next index."""
    word = args[index]
    if "=" in word and word.startswith("--"):
        return word.split("=", 1)[1], index + 1
    if index + 1 >= len(args):
        raise Unsupported(f"{word} needs a value")
    return args[index + 1], index + 2


def parse_uv_run(args: list[str]) -> tuple[list[str], list[str], str | None]:
    """`uvx [options] COMMAND ARGS` (also `uv tool run`, `uv run`): (requirements, command, python asked for)."""
    requirements: list[str] = []
    source: str | None = None
    python: str | None = None
    index = 0
    while index < len(args):
        word = args[index]
        name = word.split("=", 1)[0]
        if word == "--":
            index += 1
            break
        if name in UVX_VALUE_OPTIONS:
            value, index = option_value(args, index)
            if name in ("-w", "--with"):
                requirements += split_requirements(value)
            elif name == "--from":
                source = value
            elif name in ("-p", "--python"):
                python = value
            continue
        if word in UVX_FLAGS:
            index += 1
            continue
        if word.startswith("-"):
            raise Unsupported(f"uv option {word} is not supported offline")
        break
    command = args[index:]
    if not command:
        raise Unsupported("uvx without a command")
    tool = command[0]
    if source is not None:
        requirements.append(source)
    elif tool not in ("python", "python3") and "/" not in tool:
        named, _, version = tool.partition("@")
        command[0] = named
        if version and version != "latest":
            requirements.append(f"{named}=={version}")
        elif not any(requirement_name(r) == normalise(named) for r in requirements):
            requirements.append(named)
    return requirements, command, python


def parse_pip_install(args: list[str], files: list[str] | None = None) -> list[str]:
    """The requirements of `pip install ARGS`; `-r FILE` paths go to `files` when given (else refused)."""
    requirements = []
    index = 0
    while index < len(args):
        word = args[index]
        name = word.split("=", 1)[0]
        if word in PIP_QUIET_FLAGS:
            index += 1
        elif name in PIP_VALUE_OPTIONS:
            index = option_value(args, index)[1]
        elif name in ("-r", "--requirement") and files is not None:
            value, index = option_value(args, index)
            files.append(value)
        elif word.startswith("-r") and len(word) > 2 and files is not None:
            files.append(word[2:])
            index += 1
        elif word.startswith("-"):
            raise Unsupported(f"pip option {name} is not supported offline; list packages only")
        else:
            requirements.append(word)
            index += 1
    return requirements


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return normalise(match.group(1)) if match else ""


# --- reading a test.sh (on the host, when the task is loaded) --------------------------------------------------

def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined, comments and here-document bodies dropped."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    heredoc: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            continue
        start, body = pending if pending is not None else (number, "")
        if raw.rstrip().endswith("\\"):
            pending = (start, body + raw.rstrip()[:-1] + " ")
            continue
        pending = None
        line = body + raw
        opened = re.search(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1", line)
        if opened:
            heredoc = opened.group(2)
        if line.strip() and not line.strip().startswith("#"):
            lines.append((start, line))
    if pending is not None:
        lines.append(pending)
    return lines


def simple_commands(line: str) -> list[list[str]]:
    """The words of each simple command on a line, shell keywords and VAR=value prefixes dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return []  # unbalanced quotes: not a line that installs anything perpass could recognise
    commands: list[list[str]] = [[]]
    redirect_target = False
    for token in tokens:
        if redirect_target:  # the file (or fd) of `> FILE`, `2>&1`, `< FILE`: not a word of the command
            redirect_target = False
        elif set(token) <= set("&|;()<>") and ("<" in token or ">" in token):
            if commands[-1] and commands[-1][-1].isdigit():
                commands[-1].pop()  # the fd number of `2>/dev/null`
            redirect_target = True
        elif token in OPERATORS or set(token) <= set("&|;()"):
            commands.append([])
        else:
            commands[-1].append(token)
    found = []
    for words in commands:
        while words and (words[0] in SHELL_WORDS or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
            if words[0] == "command" and len(words) > 1 and words[1] in ("-v", "-V"):
                words = []  # `command -v uvx` asks whether it exists: it does
                break
            words = words[1:]
        if words:
            found.append(words)
    return found


def script_installs(text: str) -> tuple[Installs, list[tuple[int, str]]]:
    """What a test.sh would install at test time, and (line, problem) for what perpass cannot provide."""
    installs, problems = Installs(), []
    for number, line in logical_lines(text):
        for words in simple_commands(line):
            try:
                read_install(words, installs)
            except Unsupported as problem:
                problems.append((number, str(problem)))
    return installs, problems


def read_install(words: list[str], installs: Installs) -> None:
    tool, args = Path(words[0]).name, words[1:]
    if tool in REFUSED:
        raise Unsupported(f"`{tool}` installs at test time, and perpass verifies without network")
    if tool == "uvx":
        installs.requirements += parse_uv_run(args)[0]
    elif tool == "uv":
        if args[:2] == ["pip", "install"]:
            installs.requirements += parse_pip_install(args[2:], installs.requirement_files)
        else:
            installs.requirements += uv_requirements(args)
    elif tool in ("pip", "pip3") or (tool.startswith("python") and args[:2] == ["-m", "pip"]):
        args = args[2:] if args[:2] == ["-m", "pip"] else args
        if args[:1] == ["install"]:
            installs.requirements += parse_pip_install(args[1:], installs.requirement_files)
    elif tool in ("apt-get", "apt"):
        installs.apt_packages += apt_install_packages(args)
    elif tool in ("curl", "wget"):
        urls = [a for a in args if re.match(r"^(https?|ftp)://", a)]
        remote = [u for u in urls if not UV_INSTALLER.match(u) and not LOCAL_URL.match(u)]
        if remote:
            raise Unsupported(f"`{tool} {remote[0]}` downloads at test time, and perpass verifies without network")


def uv_requirements(args: list[str]) -> list[str]:
    if args[:2] == ["pip", "install"]:
        return parse_pip_install(args[2:])
    if args[:1] == ["run"]:
        return parse_uv_run(args[1:])[0]
    if args[:2] == ["tool", "run"]:
        return parse_uv_run(args[2:])[0]
    if args[:2] == ["tool", "install"]:
        return parse_pip_install(args[2:])
    if not args or args[0] in ("--version", "-V", "version", "self", "cache", "python", "help"):
        return []
    raise Unsupported(f"`uv {' '.join(args[:2])}` is not supported offline (uvx, uv run, uv pip install are)")


def apt_install_packages(args: list[str]) -> list[str]:
    words = [a for a in args if a not in APT_QUIET_FLAGS]
    if not words or words[0] != "install":
        return []  # update, upgrade, clean, autoremove...: nothing to provide
    packages, skip = [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word == "-o":
            skip = True
        elif not word.startswith("-"):
            packages.append(word.split("=")[0])
    return packages


# --- standing in for the tools (inside the verifier's sandbox, while test.sh runs) -----------------------------

STAND_IN_DIR = Path(__file__).resolve().parent / "bin"  # bin/stand-in and its links, read-only in the sandbox


def install(home_bin: Path) -> None:
    """The env file uv's installer writes (test.sh may `source` it): it puts the read-only stand-ins first on
    PATH, never the writable folder it is in, where the tested code could plant a `python3` of its own."""
    home_bin.mkdir(parents=True, exist_ok=True)
    (home_bin / "env").write_text(f'export PATH="{STAND_IN_DIR}:$PATH"\n')


def note(text: str) -> None:
    print(f"perpass: {text}", file=sys.stderr)


def run_tool(command: list[str], python: str | None) -> int:
    """Run the tool uvx was asked for: a Python module of the task venv by `python -m`, else from PATH."""
    if python:
        note(f"runs {command[0]} with the task's Python {sys.version.split()[0]} (asked for {python})")
    name = command[0]
    if name in ("python", "python3"):
        os.execv(sys.executable, [sys.executable, *command[1:]])
    module = name.replace("-", "_")
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", module) and importlib.util.find_spec(module) is not None:
        os.execv(sys.executable, [sys.executable, "-m", module, *command[1:]])
    os.execvp(name, command)
    return 127  # not reached


def missing(requirements: list[str]) -> list[str]:
    """Requirements not installed in the task venv (a `==` pin must match the installed version)."""
    absent = []
    for requirement in requirements:
        name = requirement_name(requirement)
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            absent.append(requirement)
            continue
        pinned = re.search(r"==\s*([^\s,;]+)", requirement)
        if pinned and pinned.group(1) != version:
            absent.append(f"{requirement} (the task venv has {version})")
    return absent


def requirements_with_files(args: list[str]) -> list[str]:
    """`pip install` arguments' requirements, with those listed in its -r files (read where test.sh sees them)."""
    files: list[str] = []
    requirements = parse_pip_install(args, files)
    for name in files:
        try:
            text = Path(name).read_text(errors="replace")
        except OSError as err:
            raise Unsupported(f"cannot read the requirements file {name}: {err.strerror}") from None
        for line in text.splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                requirements.append(line)
    return requirements


def pip_install(requirements: list[str]) -> int:
    absent = missing(requirements)
    if absent:
        note(f"cannot install {', '.join(absent)} without network; declare it in the Dockerfile or test.sh "
             "so it is in the task venv when the task is loaded")
        return 1
    note(f"{', '.join(requirements)} already in the task venv")
    return 0


def real_program(name: str) -> str | None:
    """The program PATH would find if the stand-ins were not first on it."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder or ".") / name
        if Path(folder or ".").resolve() != STAND_IN_DIR and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def main(argv: list[str]) -> int:
    tool, args = argv[0], argv[1:]
    try:
        if tool == "install":
            install(Path(args[0]) if args else Path.home() / ".local" / "bin")
            return 0
        if tool == "uvx":
            _, command, python = parse_uv_run(args)
            return run_tool(command, python)
        if tool == "uv":
            if args[:2] in (["pip", "install"], ["tool", "install"]):
                return pip_install(requirements_with_files(args[2:]))
            if args[:1] == ["run"] or args[:2] == ["tool", "run"]:
                _, command, python = parse_uv_run(args[1:] if args[0] == "run" else args[2:])
                return run_tool(command, python)
            if args[:1] in (["--version"], ["-V"], ["version"]):
                print("uv (perpass stand-in: tools come from the task venv)")
                return 0
            uv_requirements(args)  # raises for what is unsupported
            return 0
        if tool in ("pip", "pip3"):
            if args[:1] == ["install"]:
                return pip_install(requirements_with_files(args[1:]))
            os.execv(sys.executable, [sys.executable, "-m", "pip", *args])
        if tool in ("apt-get", "apt"):
            packages = apt_install_packages(args)
            note(f"{tool} {' '.join(args[:1])} skipped" + (f" ({', '.join(packages)}: checked on this host when "
                                                            "the task was loaded)" if packages else ""))
            return 0
        if tool in ("curl", "wget"):
            if any(UV_INSTALLER.match(a) for a in args):
                print(": perpass provides uv and uvx offline")  # what `| sh` runs
                return 0
            real = real_program(tool)
            if real is None:
                note(f"{tool} is not installed")
                return 127
            os.execv(real, [real, *args])
    except Unsupported as problem:
        note(str(problem))
        return 2
    note(f"unknown stand-in {tool}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
