"""Hidden tests that patch with unittest.mock's decorators (Exercism's grep exercise patches `open` on
its whole TestCase class) are judged on what they assert, not called tampering; a wrapper the
repository puts around a hidden test, or a mock wrapper it redirects, still is. All on real bwrap
sessions: the Exercism-like task through the importer and the task check (oracle and unchanged
repository), the tricks through the product's verify."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tasks_helpers import write_files, write_task
from verifier_helpers import backend

from perpass.runs.importing import import_tasks
from perpass.runs.task_check import check_task_detail
from perpass.tasks import load_task
from perpass.tasks.importers import ImportOptions
from perpass.verifier.sandboxed import unchanged_delivery, verify

STUB = "def grep(pattern, flags, files):\n    pass\n"
EXAMPLE = '''def grep(pattern, flags, files):
    found = []
    for name in files:
        with open(name, encoding="utf-8") as handle:
            for number, line in enumerate(handle.readlines(), start=1):
                if (pattern.lower() in line.lower()) if "-i" in flags else (pattern in line):
                    found.append(f"{name}:{number}:{line}" if "-n" in flags else line)
    return "".join(found)
'''
# As exercism/python's grep_test.py does it: `open` of the solution module patched for the whole class.
TESTS = '''import io
import os
import unittest
from unittest import mock

from grep import grep

FILE_TEXT = {"iliad.txt": "Achilles sing, O Goddess! Peleus' son;\\nOf Atreus, Agamemnon, King of men.\\n"}


def open_mock(fname, *args, **kwargs):
    try:
        return io.StringIO(FILE_TEXT[fname])
    except KeyError:
        raise RuntimeError(f"Expected one of {list(FILE_TEXT)!r}: got {fname!r}")


@mock.patch("grep.open", name="open", side_effect=open_mock, create=True)
@mock.patch("io.StringIO", name="StringIO", wraps=io.StringIO)
class GrepTest(unittest.TestCase):
    def test_one_file_one_match_no_flags(self, mock_file, mock_open):
        self.assertMultiLineEqual(grep("Agamemnon", "", ["iliad.txt"]), "Of Atreus, Agamemnon, King of men.\\n")

    def test_one_file_one_match_case_insensitive_flag(self, mock_file, mock_open):
        self.assertMultiLineEqual(grep("OF ATREUS", "-i", ["iliad.txt"]), "Of Atreus, Agamemnon, King of men.\\n")

    @mock.patch.dict(os.environ, {"GREP_COLOR": "never"})
    def test_line_numbers(self, mock_file, mock_open):
        self.assertMultiLineEqual(grep("Achilles", "-n", ["iliad.txt"]),
                                  "iliad.txt:1:Achilles sing, O Goddess! Peleus' son;\\n")
'''


def write_grep_exercise(root: Path) -> None:
    config = {"files": {"solution": ["grep.py"], "test": ["grep_test.py"], "example": [".meta/example.py"]}}
    write_files(root / "exercises" / "practice" / "grep", {
        ".meta/config.json": json.dumps(config), ".meta/example.py": EXAMPLE,
        ".docs/instructions.md": "# Grep\n\nSearch files for lines matching a pattern.\n",
        "grep.py": STUB, "grep_test.py": TESTS})


def test_hidden_tests_patching_with_mock_pass_the_oracle_and_fail_the_stub(tmp_path: Path) -> None:
    write_grep_exercise(tmp_path / "track")
    import_tasks("exercism", tmp_path / "track", tmp_path / "out", ImportOptions(hide_tests=True), backend())
    checked = check_task_detail(load_task(tmp_path / "out" / "ex-grep"), backend(), tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem
    assert checked.reasons == ("passed", "tests_failed") and checked.oracle_flags == ()
    assert (len(checked.tests.fail_to_pass), checked.tests.pass_to_pass) == (3, [])


def verdict_of(tmp_path: Path, repo_parts: list[str], tests: str = TESTS) -> tuple[str, str]:
    """The verdict on a repository whose grep.py is `repo_parts` (the task's own repository delivered
    as is, so only the run can tell)."""
    repo_code = "\n".join(textwrap.dedent(part) for part in repo_parts)
    task = load_task(write_task(tmp_path / "task", repo={"grep.py": repo_code},
                                hidden={"grep_test.py": tests}))
    verdict = verify(task, unchanged_delivery(task), backend())
    return verdict.reason, verdict.detail


# Wraps every test method of every TestCase class defined from now on (before any class decorator runs).
WRAP_EVERY_TEST = """
    import functools
    import unittest
    from unittest import mock


    _own = unittest.TestCase.__dict__["__init_subclass__"].__func__


    def _wrap(cls, **kwargs):
        _own(cls, **kwargs)
        for name, value in list(vars(cls).items()):
            if name.startswith("test") and callable(value):
                setattr(cls, name, WRAPPER(value))


    unittest.TestCase.__init_subclass__ = classmethod(_wrap)
    """


def test_a_mock_wrapper_the_repository_puts_on_an_undecorated_test_is_tampering(tmp_path: Path) -> None:
    undecorated = textwrap.dedent('''\
        import unittest

        from grep import grep


        class GrepTest(unittest.TestCase):
            def test_one_file_one_match_no_flags(self):
                self.assertEqual(grep("Agamemnon", "", ["iliad.txt"]), "Of Atreus, Agamemnon, King of men.\\n")
        ''')
    wrapper = 'WRAPPER = mock.patch.object(unittest.TestCase, "assertEqual", new=print)\n'  # asserts nothing
    reason, detail = verdict_of(tmp_path, [STUB, WRAP_EVERY_TEST, wrapper], undecorated)
    assert reason == "tampered" and "other than the one collected" in detail, detail


def test_a_repository_wrapper_inside_the_mock_wrapper_is_tampering(tmp_path: Path) -> None:
    wrapper = textwrap.dedent('''
        def WRAPPER(test):
            @functools.wraps(test)
            def quiet(*args, **kwargs):
                try:
                    return test(*args, **kwargs)
                except AssertionError:
                    return None
            return quiet
        ''')
    reason, detail = verdict_of(tmp_path, [STUB, WRAP_EVERY_TEST, wrapper])
    assert reason == "tampered" and "other than the one collected" in detail, detail


def test_a_mock_wrapper_redirected_by_the_repository_is_tampering(tmp_path: Path) -> None:
    redirect = """
        import sys


        def _nothing(*args, **kwargs):
            return None


        def grep(pattern, flags, files):
            tests = [m.GrepTest for m in list(sys.modules.values()) if hasattr(m, "GrepTest")]
            for value in [v for cls in tests for v in vars(cls).values()]:
                for cell in getattr(value, "__closure__", None) or ():
                    inner = cell.cell_contents
                    if getattr(inner, "__name__", "").startswith("test") and not hasattr(inner, "patchings"):
                        cell.cell_contents = _nothing  # the next tests' mock wrappers call nothing
            return "iliad.txt:1:Achilles sing, O Goddess! Peleus' son;\\n"  # right for the first test only
        """
    reason, detail = verdict_of(tmp_path, [redirect])
    assert reason == "tampered" and "other than the one collected" in detail, detail
