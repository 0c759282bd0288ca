"""The host user a sandbox runs as: never root.

When perpass runs as root (as `make demo` and `make test` set it up), a sandboxed process that kept uid 0
on the host could write host-global files such as /proc/sys/kernel/core_pattern: a crash then runs the
agent's script as root on the host. So bwrap is started as an unprivileged host user: the dedicated system
user `perpass-sandbox` (created on first use with `useradd --system`), or the user or uid[:gid] named by
$PERPASS_SANDBOX_USER. When perpass itself is not root, the sandbox runs as perpass's own user."""

from __future__ import annotations

import functools
import os
import pwd
import subprocess

from perpass.errors import UserError

SANDBOX_USER = "perpass-sandbox"


@functools.cache
def sandbox_ids() -> tuple[int, int] | None:
    """(uid, gid) to switch to before starting a sandbox, or None to stay who we are (not root)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("PERPASS_SANDBOX_USER", SANDBOX_USER)
    if name.replace(":", "").isdigit():
        uid_text, _, gid_text = name.partition(":")
        ids = (int(uid_text), int(gid_text or uid_text))
    else:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            if name != SANDBOX_USER:
                raise UserError(f"PERPASS_SANDBOX_USER={name}: no such user") from None
            entry = _create_user(name)
        ids = (entry.pw_uid, entry.pw_gid)
    if 0 in ids:
        raise UserError(f"the sandbox user ({name}) must not be root or in group root")
    return ids


def _create_user(name: str) -> pwd.struct_passwd:
    done = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", "--comment", "perpass sandbox (no privileges)", name],
                          capture_output=True, text=True)
    try:
        return pwd.getpwnam(name)  # another perpass may have created it at the same moment
    except KeyError:
        raise UserError(f"cannot create the sandbox user {name}: {done.stderr.strip() or done.returncode}; "
                        f"create it (useradd --system {name}) or set PERPASS_SANDBOX_USER to an "
                        "unprivileged user") from None
