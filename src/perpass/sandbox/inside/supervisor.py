"""The session supervisor: PID 1 of an episode's sandbox, running the agent's commands one at a time.

perpass starts it once per episode (`python -I -S supervisor.py CONFIG`, a hex-encoded marshal dict) and sends it framed
requests on stdin; replies go to stdout (see frames.py). It is the only long-lived process of the session:

- Each command runs in a fresh `bash` in its own session (setsid) with stdin from /dev/null and one pipe
  for stdout+stderr; with `persistent` shell state, the working directory and exported variables are
  carried from one command to the next (saved by the shell's EXIT trap, replayed before the next command).
- Per command: a timeout, an output cap (head + tail kept), and a kill of the command's whole tree.
  Background processes may outlive their command; they never outlive the session (PID 1's exit ends the
  pid namespace).
- Per session: resident memory of all processes together, processes alive at once, CPU seconds spent
  by all processes, and the disk quota (the writable folders are size-limited tmpfs); a hit kills every
  process but this one and is reported, so the episode ends with `resource_limit`.
- As PID 1 it cannot be killed from inside (the kernel drops signals to a namespace's init that it does
  not handle), it reaps every orphan, and it is not dumpable: a command cannot ptrace it, read its memory
  or open its descriptors through /proc.
"""

from __future__ import annotations

import _signal as signal  # the C module: `signal` would import enum and half the stdlib at start
import ctypes
import marshal
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bundle import pack, unpack  # noqa: E402
from capture import HeadTail  # noqa: E402
from frames import read_frame, write_frame  # noqa: E402

POLL_S = 0.05
LIMIT_CHECK_S = 0.1
DRAIN_S = 0.02  # after a command's shell exits: how long to wait for output still in flight
MAX_REQUEST_PAYLOAD = 1 << 31
STATE_CAP = 256 * 1024
MIN_FREE_BYTES = 1 << 20  # a tmpfs with less free space than this counts as full: the quota was hit
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                   signal.SIGUSR1, signal.SIGUSR2, signal.SIGXFSZ, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)

# $1 = directory to start in, $2 = shell state (`export -p` text), $3 = fallback directory, $4 = ulimit line,
# $5 = the command, or "" when it comes on fd 5 (a shell started ahead of its command, see Shell); then fd 5
# carries "COMMAND\0CHANNEL\0", else $6 is CHANNEL (1: keep fd 3 for the channel). fd 4 receives the state
# at exit.
PROLOGUE = r'''builtin eval "$2"
builtin cd -- "$1" 2>/dev/null || builtin cd -- "$3"
builtin eval "$4" || builtin exit 125
if [ -z "$5" ]; then
  IFS= builtin read -r -d '' __perpass_command <&5; IFS= builtin read -r -d '' __perpass_ch <&5
  builtin exec 5<&-; [ "$__perpass_ch" = 1 ] || builtin exec 3>&-
else __perpass_command=$5; [ "$6" = 1 ] || builtin exec 3>&-; fi
'''
PERSISTENT = PROLOGUE + r'''__perpass_save() { builtin printf '%s\0' "$PWD" >&4; builtin export -p >&4; } 2>/dev/null
builtin trap __perpass_save EXIT
builtin shift 6; builtin set --
builtin eval "builtin unset __perpass_command __perpass_ch; $__perpass_command"
'''
FRESH = PROLOGUE + r'''builtin shift 6; builtin set --
builtin eval "builtin unset __perpass_command __perpass_ch; $__perpass_command"
'''
AHEAD_MAX = 4096  # longer commands go in argv (bash reads a pipe one byte at a time)


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def export_text(env: dict[str, str]) -> str:
    return "".join(f"declare -x {key}={shell_quote(value)}\n" for key, value in env.items())


def read_available(fd: int) -> tuple[bytes, bool]:
    """What a non-blocking fd holds now; (data, eof)."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return b"".join(chunks), False
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def nonblocking_pipe() -> tuple[int, int]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    return r, w


class Processes:
    """The session's processes, read from /proc (this pid namespace shows only the session's own)."""

    def __init__(self, pid1: bool) -> None:
        self.me = os.getpid()
        self.pid1 = pid1  # False on the host (`none` backend): only our own descendants are the session's
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.ticks = os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[int, tuple[int, int, int, float]]:
        """pid -> (ppid, session id, resident bytes, cpu seconds incl. reaped children)."""
        found = {}
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == self.me:
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    raw = handle.read()
            except OSError:
                continue
            fields = raw[raw.rfind(b")") + 2:].split()
            # fields[0] is the state (field 3); utime..cstime are fields 14..17, rss is field 24.
            ppid, sid = int(fields[1]), int(fields[3])
            cpu = sum(int(x) for x in fields[11:15]) / self.ticks
            found[int(name)] = (ppid, sid, int(fields[21]) * self.page, cpu)
        if self.pid1:
            return found
        ours: dict[int, tuple[int, int, int, float]] = {}
        frontier = {self.me}
        while frontier:
            frontier = {pid for pid, stat in found.items() if stat[0] in frontier and pid not in ours}
            ours.update((pid, found[pid]) for pid in frontier)
        return ours

    def tree(self, root: int) -> set[int]:
        """root, every descendant, and everything in root's session (what the command started)."""
        stats = self.stats()
        members = {pid for pid, (_, sid, _, _) in stats.items() if sid == root} | {root}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _, _, _) in stats.items():
                if ppid in members and pid not in members:
                    members.add(pid)
                    changed = True
        return members

    def kill(self, pids: set[int] | None, grace_s: float = 2.0) -> None:
        """SIGKILL the given pids (None: every process but this one) until none is left."""
        end = time.monotonic() + grace_s
        while time.monotonic() < end:
            alive = set(self.stats()) if pids is None else pids & set(self.stats())
            if not alive:
                return
            if pids is None and self.pid1:
                try:
                    os.kill(-1, signal.SIGKILL)  # every process we may signal, never ourselves
                except ProcessLookupError:
                    pass
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap_all()
            time.sleep(0.002)


class Shell:
    """A started shell: its pid (and pidfd), its output, channel and state pipes, and, for a shell
    started ahead, the pipe its command will come on."""

    def __init__(self, pid: int, pidfd: int | None, out_r: int, ch_r: int, st_r: int | None,
                 req_w: int | None) -> None:
        self.pid, self.pidfd, self.out_r, self.ch_r, self.st_r, self.req_w = pid, pidfd, out_r, ch_r, st_r, req_w

    def alive(self) -> bool:
        if self.pidfd is None:
            return os.path.exists(f"/proc/{self.pid}")
        ready, _, _ = select.select([self.pidfd], [], [], 0)
        return not ready

    def discard(self) -> None:
        """A shell started ahead that will not be used (dead, or the command is too long): close it."""
        for fd in (self.req_w, self.out_r, self.ch_r, self.st_r, self.pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def reap_all() -> dict[int, int]:
    """Reap every exited child (as PID 1, orphans are ours too); pid -> raw wait status."""
    statuses: dict[int, int] = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return statuses
        if pid == 0:
            return statuses
        statuses[pid] = status


def exit_code_of(status: int) -> int:
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


class Supervisor:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.limits = config["limits"]
        self.home = config["workspace"]
        self.persistent = config.get("shell", "persistent") == "persistent"
        self.base_env = config["env"]
        self.state_cwd = self.home
        self.state_exports = export_text(self.base_env)
        self.ulimit = self.ulimit_line()
        self.procs = Processes(bool(config.get("pid1")))
        self.detached: list[int] = []  # output pipes still held by background processes: drained, dropped
        self.exited: dict[int, int] = {}
        self.pending_limit: str | None = None  # a limit hit between commands, reported with the next one
        self.files_mark = 0  # files in use when the running command started (or the last one ended)
        self.ahead: Shell | None = None  # a shell started before its command arrives
        self.cpu_reaped = 0.0
        self.next_idle_check = 0.0

    def ulimit_line(self) -> str:
        lim = self.limits
        line = (f"ulimit -S -t {lim['cpu_s']} && ulimit -H -t {lim['cpu_s'] + 2} && ulimit -c 0"
                f" -v {lim['memory_mb'] * 1024} -f {lim['file_size_mb'] * 1024} -n {lim['open_files']}")
        if lim.get("nproc"):  # only without a pids cgroup: RLIMIT_NPROC counts all of this uid's processes
            line += f" && ulimit -u {lim['nproc']}"
        return line

    # --- the request loop ---------------------------------------------------------------------------

    def serve(self) -> None:
        write_frame(1, {"op": "ready", "pid": os.getpid()})
        self.start_ahead()
        while True:
            ready, _, _ = select.select([0, *self.detached], [], [], 0.2)
            self.drain_detached(ready)
            self.idle_checks()
            if 0 not in ready:
                continue
            try:
                request, payload = read_frame(0, MAX_REQUEST_PAYLOAD)
            except EOFError:
                break
            op = request.get("op")
            if op == "exit":
                break
            try:
                header, data = self.handle(op, request, payload)
            except Exception as exc:  # noqa: BLE001 - reported to the host, the session goes on
                header, data = {"op": "error", "error": f"{type(exc).__name__}: {exc}"}, b""
            write_frame(1, header, data)
        self.procs.kill(None)
        write_frame(1, {"op": "bye"})

    def handle(self, op: str, request: dict, payload: bytes) -> tuple[dict, bytes]:
        if op == "run":
            return self.run(request)
        if op == "put":
            count = unpack(payload, request["dest"], request["budget"])
            return {"op": "put", "members": count}, b""
        if op == "get":
            return {"op": "get"}, pack(request["path"], request["budget"], tuple(request.get("skip", ())))
        if op == "kill_all":
            self.procs.kill(None)
            # A limit seen between commands was this same churn: the host, which asked for the kill,
            # has already charged it to the command that caused it; left pending, it would be charged
            # again to the next, innocent command.
            self.pending_limit = None
            return {"op": "kill_all"}, b""
        if op == "usage":
            return {"op": "usage", **self.usage()}, b""
        raise ValueError(f"unknown request {op!r}")

    # --- one command --------------------------------------------------------------------------------

    def spawn(self, command: str, channel: bool = False) -> Shell:
        """A shell for `command`, or, with command "", one started ahead that waits for it on fd 5: the
        shell's start-up (exec, the state replayed, the limits set) then happens before the request."""
        ahead = command == ""
        out_r, out_w = nonblocking_pipe()
        ch_r, ch_w = nonblocking_pipe()
        st_r, st_w = nonblocking_pipe() if self.persistent else (None, None)
        req_r, req_w = os.pipe() if ahead else (None, None)
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, out_w, 2),
                   (os.POSIX_SPAWN_DUP2, ch_w, 3)]
        if st_w is not None:
            actions.append((os.POSIX_SPAWN_DUP2, st_w, 4))
        if req_r is not None:
            actions.append((os.POSIX_SPAWN_DUP2, req_r, 5))
        script = PERSISTENT if self.persistent else FRESH
        env = {} if self.persistent else self.base_env
        argv = ["/bin/bash", "--noprofile", "--norc", "-c", script, "perpass-shell",
                self.state_cwd, self.state_exports, self.home, self.ulimit, command, "1" if channel else "0"]
        try:
            pid = os.posix_spawn("/bin/bash", argv, env, file_actions=actions, setsid=True,
                                 setsigdef=DEFAULT_SIGNALS, setsigmask=())
        except OSError:
            for fd in (out_r, out_w, ch_r, ch_w, st_r, st_w, req_r, req_w):
                if fd is not None:
                    os.close(fd)
            raise
        for fd in (out_w, ch_w, st_w, req_r):
            if fd is not None:
                os.close(fd)
        try:  # readable once the shell has exited: no polling for its exit
            pidfd: int | None = os.pidfd_open(pid)
        except OSError:
            pidfd = None
        return Shell(pid, pidfd, out_r, ch_r, st_r, req_w)

    def shell_for(self, command: str, channel: bool) -> Shell:
        """The shell started ahead when it is still alive and the command short, else a new one."""
        shell, self.ahead = self.ahead, None
        req_w = shell.req_w if shell is not None else None
        if shell is not None and req_w is not None and len(command.encode()) <= AHEAD_MAX and "\0" not in command \
                and shell.alive():
            try:
                os.write(req_w, command.encode("utf-8", "surrogateescape") + b"\0" +
                         (b"1" if channel else b"0") + b"\0")
                os.close(req_w)
                shell.req_w = None
                return shell
            except OSError:
                pass
        if shell is not None:
            shell.discard()
        return self.spawn(command, channel)

    def start_ahead(self) -> None:
        if self.ahead is None:
            try:
                self.ahead = self.spawn("")
            except OSError:
                self.ahead = None  # at the process limit: the next command starts its own shell

    def run(self, request: dict) -> tuple[dict, bytes]:
        started = time.monotonic()
        self.mark_files()
        pending, self.pending_limit = self.pending_limit, None  # hit between commands: reported with this one
        capture = HeadTail(int(request.get("cap", 2 * 1024 * 1024)))
        channel_cap = int(request.get("channel_cap", 8 * 1024 * 1024))
        try:
            shell = self.shell_for(request["command"], bool(request.get("channel")))
        except OSError as exc:  # EAGAIN when the session is at its process limit
            capture.add(f"perpass sandbox: cannot start the command: {exc}\n".encode())
            return self.result(started, 126, capture, b"", None, pending)
        pid, pidfd, out_r, st_r = shell.pid, shell.pidfd, shell.out_r, shell.st_r
        ch_r = shell.ch_r if request.get("channel") else None
        if ch_r is None:
            os.close(shell.ch_r)
        channel, state = bytearray(), bytearray()
        deadline = started + float(request["timeout"])
        killed_by: str | None = None
        status: int | None = None
        next_check = started + POLL_S
        readers = {out_r: capture, **({ch_r: channel} if ch_r is not None else {}),
                   **({st_r: state} if st_r is not None else {})}
        open_fds = list(readers)
        while status is None:
            now = time.monotonic()
            if now >= deadline:
                killed_by = "timeout"
                break
            waiting = open_fds + self.detached + ([pidfd] if pidfd is not None else [])
            ready, _, _ = select.select(waiting, [], [], min(POLL_S, deadline - now))
            self.drain_detached(ready)
            for fd in ready:
                if fd in readers:
                    self.read_into(fd, readers[fd], open_fds, channel_cap)
            self.exited.update(reap_all())
            status = self.exited.pop(pid, None)
            if status is None and time.monotonic() >= next_check:
                next_check = time.monotonic() + LIMIT_CHECK_S
                killed_by = self.session_limit_hit()
                if killed_by is not None:
                    break
        if pidfd is not None:
            os.close(pidfd)
        if killed_by == "timeout":
            self.procs.kill(self.procs.tree(pid))
        elif killed_by is not None:
            self.procs.kill(None)
        self.exited.update(reap_all())
        status = self.exited.pop(pid, status)
        # The shell is gone; what it wrote is in the pipes. Anything still holding them is a background job.
        drain_end = time.monotonic() + DRAIN_S
        while open_fds:
            for fd in list(open_fds):
                self.read_into(fd, readers[fd], open_fds, channel_cap)
            if not open_fds or time.monotonic() >= drain_end:
                break
            select.select(open_fds, [], [], max(0.0, drain_end - time.monotonic()))
        for fd in open_fds:
            if fd == out_r:
                self.detached.append(fd)
            else:
                os.close(fd)
        if st_r is not None:
            self.keep_state(bytes(state))
        limit = killed_by if killed_by not in (None, "timeout") else pending or self.disk_full()
        code = None if killed_by is not None or status is None else exit_code_of(status)
        reply = self.result(started, code, capture, bytes(channel), killed_by, limit)
        self.mark_files()  # background jobs count from here
        self.start_ahead()  # after the reply is built: its start-up overlaps the host's next step
        return reply

    def read_into(self, fd: int, sink: HeadTail | bytearray, open_fds: list[int], cap: int) -> None:
        data, eof = read_available(fd)
        if isinstance(sink, HeadTail):
            if data:
                sink.add(data)
        elif len(sink) < cap:
            sink += data[: cap - len(sink)]
        if eof:
            open_fds.remove(fd)
            os.close(fd)

    def result(self, started: float, code: int | None, capture: HeadTail, channel: bytes,
               killed_by: str | None, limit: str | None) -> tuple[dict, bytes]:
        """The reply: the output (text, capped) then the channel's bytes, as the payload."""
        output = capture.text().encode("utf-8", "surrogateescape")
        header = {"op": "result", "exit_code": code, "timed_out": killed_by == "timeout", "killed_by": killed_by,
                  "limit": limit, "output_len": len(output), "output_bytes": capture.total,
                  "wall_s": time.monotonic() - started}
        return header, output + channel

    def keep_state(self, raw: bytes) -> None:
        cwd, sep, exports = raw.partition(b"\0")
        if not sep or len(raw) > STATE_CAP:
            return  # the shell was exec'ed away, killed, or left too much state: keep the previous one
        cwd_text = cwd.decode("utf-8", "surrogateescape")
        if cwd_text.startswith("/"):
            self.state_cwd = cwd_text
            self.state_exports = exports.decode("utf-8", "surrogateescape")

    # --- session limits -----------------------------------------------------------------------------

    def usage(self) -> dict:
        stats = self.procs.stats()
        self.exited.update(reap_all())
        children = os.times()
        cpu = children.children_user + children.children_system + sum(s[3] for s in stats.values())
        return {"processes": len(stats), "rss_bytes": sum(s[2] for s in stats.values()), "cpu_s": cpu}

    def session_limit_hit(self) -> str | None:
        use = self.usage()
        if use["rss_bytes"] > self.limits["memory_mb"] * 1024 * 1024:
            return "memory"
        if use["processes"] >= self.limits["processes"] - 2:  # the pids cgroup refuses the rest
            return "pids"
        if use["cpu_s"] > self.limits["session_cpu_s"]:
            return "cpu"
        if self.making_files():
            return "disk"
        return None

    def files_used(self) -> int:
        """Files and folders in the session's tmpfs mounts (inodes in use)."""
        used = 0
        for path in self.config.get("quota_paths", ()):
            try:
                stats = os.statvfs(path)
            except OSError:
                continue
            used += stats.f_files - stats.f_ffree
        return used

    def mark_files(self) -> None:
        self.files_mark = self.files_used() if self.limits.get("files") else 0

    def making_files(self) -> bool:
        """Over the file count and still adding files since the last mark (a command's start, or the end of
        the one before): stopped. Over it and not adding (an `rm -rf` to make room) runs."""
        cap = self.limits.get("files")
        if not cap:
            return False
        used = self.files_used()
        return used > cap and used > self.files_mark

    def disk_full(self) -> str | None:
        cap = self.limits.get("files")
        if cap and self.files_used() > cap:
            return "disk"
        for path in self.config.get("quota_paths", ()):
            try:
                stats = os.statvfs(path)
            except OSError:
                continue
            if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
                return "disk"
        return None

    def idle_checks(self) -> None:
        """Background processes between commands count too (a hog started with `&`)."""
        reap_all()
        self.exited.clear()  # no command is running: nobody waits for these statuses
        if time.monotonic() < self.next_idle_check or self.pending_limit is not None:
            return
        self.next_idle_check = time.monotonic() + 0.5
        hit = self.session_limit_hit()
        if hit is not None:
            self.procs.kill(None)
            self.pending_limit = hit

    def drain_detached(self, ready: list[int]) -> None:
        for fd in [fd for fd in ready if fd in self.detached]:
            _, eof = read_available(fd)
            if eof:
                self.detached.remove(fd)
                os.close(fd)


def harden(pid1: bool) -> None:
    """Not dumpable: no ptrace, no /proc/1/mem or /proc/1/fd from the commands (same uid as us).
    Outside a pid namespace, a subreaper: orphaned background jobs stay ours to account for and kill."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        if not pid1:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    for sig in DEFAULT_SIGNALS:
        if sig != signal.SIGPIPE:
            signal.signal(sig, signal.SIG_IGN)
    # fds below 10 stay taken, so the pipes made for a command never collide with the numbers it gets (3, 4).
    while os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC) < 10:
        pass


def main() -> None:
    config = marshal.loads(bytes.fromhex(sys.argv[1]))
    harden(bool(config.get("pid1")))
    for path in config.get("make_dirs", ()):
        os.makedirs(path, exist_ok=True)
    Supervisor(config).serve()


if __name__ == "__main__":
    main()
