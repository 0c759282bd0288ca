"""The sentinel test file the host writes next to the hidden tests, with random names and a nonce.

Three tests whose right outcome is known: one must FAIL (a plain assert whose message holds the
nonce), one must ERROR (its fixture raises), one must PASS (it runs last and asks the reporter
plugin for the integrity check: repository modules, pytest's code, plugins, builtins, hooks). A
runner rewritten to turn failures into passes or skips cannot get all three right by accident.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Sentinel:
    filename: str
    must_fail: str
    must_error: str
    must_pass: str
    nonce: str

    def nodeid(self, name: str) -> str:
        return f"{self.filename}::{name}"

    @property
    def nodeids(self) -> dict[str, str]:
        """For the reporter plugin: which node id is which sentinel."""
        return {"must_error": self.nodeid(self.must_error), "must_fail": self.nodeid(self.must_fail),
                "must_pass": self.nodeid(self.must_pass)}

    def source(self) -> str:
        fixture = f"perpass_broken_{secrets.token_hex(4)}"
        return (
            "import pytest\n\n\n"
            f"@pytest.fixture\ndef {fixture}():\n"
            f"    raise RuntimeError('perpass sentinel error {self.nonce}')\n\n\n"
            f"def {self.must_fail}():\n"
            f"    assert {secrets.randbelow(1 << 30) + 1} < 0, 'perpass sentinel {self.nonce}'\n\n\n"
            f"def {self.must_error}({fixture}):\n"
            "    pass\n\n\n"
            f"def {self.must_pass}(perpass_integrity):\n"
            "    problems = perpass_integrity()\n"
            "    assert problems == [], problems\n"
        )


def make_sentinel() -> Sentinel:
    def name() -> str:
        return f"test_{secrets.token_hex(6)}"

    return Sentinel(filename=f"test_{secrets.token_hex(6)}.py", must_fail=name(), must_error=name(),
                    must_pass=name(), nonce=secrets.token_hex(16))
