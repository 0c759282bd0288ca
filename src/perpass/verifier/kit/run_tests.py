"""The whole verification inside the verifier session, in one interpreter:

  python -I run_tests.py CONFIG.json     (fd 3: the session's channel)

Order matters and is the point of this file:
 1. read the config (key, paths, sentinel names, expected hashes, stage budgets) and delete it;
 2. move the channel from fd 3 to a private close-on-exec descriptor (closed in forked children);
 3. make the process non-dumpable (no other process of the session may ptrace it or read its memory);
 4. install the audit hook, then send the `start` record;
 5. materialise the delivery (materialise.py's code) and scan it (scan.py's code): no repository
    code runs yet, and both reports are sealed records like everything after them;
 6. import pytest, and only then put the checkout (then the task's python_path folders inside it,
    checkout_folders) on sys.path, AFTER the standard library and
    site-packages (so no repository file can stand in for a module pytest or Python needs), and
    take the kit's modules out of sys.modules;
 7. run pytest in-process: importlib import mode, no cache provider, no debugging plugin (nor
    other built-in plugins a verification never needs), our own ini (-c), rootdir and confcutdir
    at the hidden tests' folder, the reporter plugin registered (it sends the final integrity
    check at pytest_sessionfinish, before pytest undoes its patches);
 8. send the audit end check and `finish`, then os._exit at once: no atexit handler or thread of
    the repository runs after the verdict's records.
A watchdog thread ends a stage that overruns its budget with a sealed `timeout` record; code that
stops the watchdog only makes the session's own timeout end the run instead.
Nothing from pytest's exit code or output decides the verdict; the host judges the records.
A task with its own test_command skips 6-8: command_stage puts the hidden tests at its hidden_dir and
reports only the command's exit code (perpass_kit/command.py).
"""

import json
import os
import sys
import threading
import time

KIT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, KIT)
from perpass_kit.audit import Auditor  # noqa: E402
from perpass_kit.channel import Channel, private_channel  # noqa: E402
from perpass_kit.integrity import Baseline  # noqa: E402
from perpass_kit.materialise import materialise_delivery  # noqa: E402
from perpass_kit.scan import scan  # noqa: E402

PR_SET_DUMPABLE = 4
# pytest's built-in plugins a verification never needs: fewer imports, fewer objects in reach. The
# cache writes files, debugging holds the config in a class attribute (pytestPDB._config).
UNUSED_PLUGINS = ("cacheprovider", "debugging", "junitxml", "pastebin", "doctest", "stepwise", "setuponly",
                  "setupplan")
INI = "[pytest]\naddopts =\npython_files = test_*.py *_test.py\npython_classes = Test*\npython_functions = test*\n"


def not_dumpable() -> None:
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def load_config(path: str) -> dict:
    with open(path) as handle:
        config = json.load(handle)
    os.unlink(path)
    return config


class Watchdog:
    """Ends the process with a sealed `timeout` record when a stage overruns its budget."""

    def __init__(self, channel: Channel | None) -> None:
        self.channel = channel
        self.timer: threading.Timer | None = None

    def arm(self, stage: str, seconds: float) -> None:
        self.cancel()
        self.timer = threading.Timer(seconds, self.fire, args=(stage, seconds))
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def fire(self, stage: str, seconds: float) -> None:
        if self.channel is not None:
            self.channel.send("timeout", stage=stage, seconds=seconds)
        os._exit(0)


def checkout_folders(checkout: str, folders: list) -> list:
    """The task's python_path folders of the checkout (a src layout's src/) that are, resolved, real folders
    inside it: a delivered link that leads elsewhere (the hidden tests, the kit, /tmp) is left out."""
    root = os.path.realpath(checkout)
    inside = [os.path.join(checkout, folder) for folder in folders]
    return [path for path in inside
            if os.path.realpath(path).startswith(root + os.sep) and os.path.isdir(path)]


def prepare(config: dict, send, watchdog: Watchdog) -> None:  # type: ignore[no-untyped-def]
    """Materialise and scan; ends the process when the delivery is refused."""
    watchdog.arm("materialise", config["budgets"]["materialise"])
    started = time.perf_counter()
    report = materialise_delivery(config["materialise"])
    for dropped in report.pop("dropped", []):
        send("dropped", path=dropped["path"], why=dropped["why"])
    send("materialise", seconds=round(time.perf_counter() - started, 6), **report)
    if report["status"] != "ok":
        send("finish", stage="materialise")
        os._exit(0)
    watchdog.arm("scan", config["budgets"]["scan"])
    started = time.perf_counter()
    spec = config["scan"]
    try:
        found = scan(spec["initial"], spec["tree"], tuple(spec["words"]))
    except Exception as err:  # noqa: BLE001 - a tree that breaks the scan is reported, never an infra error
        found = {"error": f"{type(err).__name__}: {err}"[:500]}
    for flag in found.pop("flags", []):
        send("scan_flag", **flag)
    found.pop("kind", None)
    send("scan", seconds=round(time.perf_counter() - started, 6), **found)
    if found.get("error"):
        send("finish", stage="scan")
        os._exit(0)


def command_stage(config: dict, send, watchdog: Watchdog) -> None:  # type: ignore[no-untyped-def]
    """A task's own test_command instead of the per-test run: hidden tests at hidden_dir, the command's
    exit code sealed, then out (the command's processes never share this interpreter)."""
    from perpass_kit.command import place_hidden, run_command  # only command tasks need it (and subprocess)

    spec, budget = config["command"], config["budgets"]["tests"]
    watchdog.arm("tests", budget + 5)  # run_command times the command out itself; this is the backstop
    place_hidden(config["hidden"], config["checkout"], spec["hidden_dir"])
    if config["python_path"]:
        os.environ["PYTHONPATH"] = os.pathsep.join(checkout_folders(config["checkout"], config["python_path"]))
    send("tests_started")
    sys.stdout.flush()
    send("command", **run_command(spec["run"], config["checkout"], budget))
    watchdog.cancel()
    send("finish", stage="command")
    os._exit(0)


def main() -> None:
    config = load_config(sys.argv[1])
    channel = private_channel(bytes.fromhex(config["key"]))
    not_dumpable()
    checkout, hidden = config["checkout"], config["hidden"]
    auditor = Auditor(channel, checkout, hidden)
    auditor.install()
    send = channel.send if channel else (lambda kind, **fields: None)
    send("start", pid=os.getpid(), python=sys.version.split()[0])
    watchdog = Watchdog(channel)
    prepare(config, send, watchdog)
    if config.get("command"):
        command_stage(config, send, watchdog)

    sys.dont_write_bytecode = True
    sys.argv = ["-c"]
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(name, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"

    import pytest
    from perpass_kit.reporter import Reporter, Sentinels

    # Reporter imported: every kit module is loaded, so the baseline can hold them all.
    with open(config["materialise"]["manifest"]) as handle:
        manifest = json.load(handle)
    baseline = Baseline(checkout, hidden, manifest, config["hidden_hashes"], quiet=auditor.quiet)
    reporter = Reporter(channel, baseline, Sentinels(**config["sentinels"]))
    ini = os.path.join(config["basetemp"] + "-ini", "pytest.ini")
    os.makedirs(os.path.dirname(ini), exist_ok=True)
    with open(ini, "w") as handle:
        handle.write(INI)

    sys.path.remove(KIT)
    # The kit's objects stay alive (the plugin, the audit hook) but not under a name the tested code
    # can import: reaching them now takes gc, frames or a walk through pytest's objects.
    for name in [n for n in sys.modules if n == "perpass_kit" or n.startswith("perpass_kit.")]:
        del sys.modules[name]
    sys.path.append(checkout)
    sys.path.extend(checkout_folders(checkout, config["python_path"]))
    os.chdir(checkout)
    meta_path, path_hooks = list(sys.meta_path), list(sys.path_hooks)
    args = [hidden, "-c", ini, "--rootdir", hidden, "--confcutdir", hidden, "--import-mode=importlib",
            *(f"-pno:{plugin}" for plugin in UNUSED_PLUGINS), "-q", "--tb=short", "--color=no",
            "--basetemp", config["basetemp"],
            # a module that fails to import (a syntax error, say) must not stop the sentinels from running
            "--continue-on-collection-errors"]
    watchdog.arm("tests", config["budgets"]["tests"])
    send("tests_started")
    try:
        exit_code = int(pytest.main(args, plugins=[reporter]))
    except BaseException as exc:  # noqa: BLE001 - SystemExit from the repository ends pytest; we still report
        exit_code = -1
        send("aborted", error=f"{type(exc).__name__}: {exc}")
    watchdog.cancel()

    # pytest adds its assertion-rewriting finder itself; anything else was added by the repository.
    added = [repr(f) for f in sys.meta_path if f not in meta_path and type(f).__module__ != "_pytest.assertion.rewrite"]
    if added or any(h not in sys.path_hooks for h in path_hooks) or len(sys.path_hooks) != len(path_hooks):
        auditor.flag("hooks", "import hooks changed (sys.meta_path / sys.path_hooks)", "end of run", "; ".join(added))
    send("finish", exit=exit_code, tests=reporter.tests)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
