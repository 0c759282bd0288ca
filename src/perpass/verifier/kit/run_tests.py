"""The hardened pytest run, inside the verifier session:

  python -I run_tests.py CONFIG.json     (fd 3: the session's channel)

Order matters and is the point of this file:
 1. read the config (key, paths, sentinel names, expected hashes) and delete it;
 2. move the channel from fd 3 to a private close-on-exec descriptor (closed in forked children);
 3. make the process non-dumpable (no other process of the session may ptrace it or read its memory);
 4. install the audit hook, then send the `start` record;
 5. import pytest, and only then put the checkout on sys.path, AFTER the standard library and
    site-packages (so no repository file can stand in for a module pytest or Python needs);
 6. run pytest in-process: importlib import mode, no cache provider, our own ini (-c), rootdir and
    confcutdir at the hidden tests' folder, the reporter plugin registered;
 7. (the reporter sends the final integrity check at pytest_sessionfinish, before pytest undoes its
    own patches) send the audit end check and `finish`, then os._exit at once: no
    atexit handler or thread of the repository runs after the verdict's records.
Nothing from pytest's exit code or output decides the verdict; the host judges the records.
"""

import json
import os
import sys

KIT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, KIT)
from perpass_kit.audit import Auditor  # noqa: E402
from perpass_kit.channel import private_channel  # noqa: E402
from perpass_kit.integrity import Baseline  # noqa: E402

PR_SET_DUMPABLE = 4
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


def main() -> None:
    config = load_config(sys.argv[1])
    key = bytes.fromhex(config["key"])
    channel = private_channel(key)
    not_dumpable()
    checkout, hidden = config["checkout"], config["hidden"]
    auditor = Auditor(channel, checkout, hidden)
    auditor.install()
    channel_send = channel.send if channel else (lambda kind, **fields: None)
    channel_send("start", pid=os.getpid(), python=sys.version.split()[0])

    sys.dont_write_bytecode = True
    sys.argv = ["-c"]
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(name, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"

    import pytest
    from perpass_kit.reporter import Reporter, Sentinels

    # Reporter imported: every kit module is loaded, so the baseline can hold them all.
    with open(config["manifest"]) as handle:
        manifest = json.load(handle)
    baseline = Baseline(checkout, hidden, manifest, config["hidden_hashes"])
    sentinels = Sentinels(**config["sentinels"])
    reporter = Reporter(channel, baseline, sentinels)
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
    os.chdir(checkout)
    meta_path, path_hooks = list(sys.meta_path), list(sys.path_hooks)
    args = [hidden, "-c", ini, "--rootdir", hidden, "--confcutdir", hidden, "--import-mode=importlib",
            "-p", "no:cacheprovider", "-p", "no:debugging", "-q", "--tb=short", "--color=no",
            "--basetemp", config["basetemp"],
            # a module that fails to import (a syntax error, say) must not stop the sentinels from running
            "--continue-on-collection-errors"]
    try:
        exit_code = int(pytest.main(args, plugins=[reporter]))
    except BaseException as exc:  # noqa: BLE001 - SystemExit from the repository ends pytest; we still report
        exit_code = -1
        channel_send("aborted", error=f"{type(exc).__name__}: {exc}")

    # pytest adds its assertion-rewriting finder itself; anything else was added by the repository.
    added = [repr(f) for f in sys.meta_path if f not in meta_path and type(f).__module__ != "_pytest.assertion.rewrite"]
    if added or [h for h in path_hooks if h not in sys.path_hooks] or len(sys.path_hooks) != len(path_hooks):
        auditor.flag("hooks", "import hooks changed (sys.meta_path / sys.path_hooks)", "end of run", "; ".join(added))
    channel_send("finish", exit=exit_code, tests=reporter.tests)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
