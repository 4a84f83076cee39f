"""Commands and daemons: run a command, start a daemon that outlives this invocation, wait
until it serves, and stop it later by pid, from any invocation.

A pid is only ever signalled when /proc still shows the process that was started (same start
time), so a recycled pid is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CMD_TIMEOUT = 60.0
START_TIMEOUT = 30.0
# sockaddr_un.sun_path is 108 bytes including the NUL.
MAX_SOCKET_PATH = 107


class SandboxError(RuntimeError):
    """A step failed.  ``component`` names the part and ``log`` the file that tells why."""

    def __init__(self, component: str, what: str, log: str | None = None) -> None:
        super().__init__(f"{component}: {what}" + (f" (log: {log})" if log else ""))
        self.component = component
        self.what = what
        self.log = log


def run(argv: Sequence[str], check: bool = True, timeout: float = CMD_TIMEOUT,
        env: Mapping[str, str] | None = None, netns: str | None = None,
        component: str = "command", log: str | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    full = [*(("ip", "netns", "exec", netns) if netns else ()), *argv]
    try:
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, input=input,
                           env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as e:
        raise SandboxError(component, f"{' '.join(full)} timed out after {timeout:g}s",
                           log) from e
    except FileNotFoundError as e:
        raise SandboxError(component, f"{full[0]} is not installed", log) from e
    if check and r.returncode != 0:
        raise SandboxError(component, f"{' '.join(full)} failed ({r.returncode}): "
                           f"{(r.stderr or r.stdout).strip()}", log)
    return r


def start_time(pid: int) -> int | None:
    """The process' start time in clock ticks since boot, or None if it is gone (or a
    zombie, which is as good as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass
class Daemon:
    """A started process, as recorded in the sandbox state."""

    name: str
    pid: int
    started: int
    log: str
    out: str

    def alive(self) -> bool:
        return start_time(self.pid) == self.started

    def reap(self) -> None:
        """Collect the exit status if this invocation is the parent (no zombie left)."""
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def tail(self, n: int = 2000) -> str:
        parts = []
        for p in (self.log, self.out):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text = f.read()[-n:]
                if text.strip():
                    parts.append(f"--- {p}:\n{text}")
        return "\n".join(parts)

    def failure(self, what: str) -> SandboxError:
        return SandboxError(self.name, what, self.log if os.path.exists(self.log) else self.out)


def start_daemon(name: str, argv: Sequence[str], log: str, out: str,
                 env: Mapping[str, str] | None = None, netns: str | None = None) -> Daemon:
    """Start ``argv`` in its own session (it outlives this invocation and ignores the
    terminal's Ctrl-C); its stdout and stderr go to ``out``."""
    full = [*(("ip", "netns", "exec", netns) if netns else ()), *argv]
    with open(out, "ab") as f:
        try:
            pr = subprocess.Popen(full, env={**os.environ, **(env or {})},
                                  stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        except FileNotFoundError as e:
            raise SandboxError(name, f"{full[0]} is not installed", out) from e
    started = start_time(pr.pid)
    # Popen returned, so the child exists; it can only be gone already if it died at once.
    return Daemon(name, pr.pid, started if started is not None else -1, log, out)


def can_connect(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_socket(d: Daemon, path: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not can_connect(path):
        if not d.alive():
            d.reap()
            raise d.failure("exited while starting")
        if time.monotonic() > deadline:
            raise d.failure(f"did not open {path} within {timeout:g}s")
        time.sleep(0.02)


def stop_daemons(daemons: Sequence[Daemon], grace: float = 10.0) -> list[str]:
    """SIGTERM each (last started first), then SIGKILL what is left after ``grace``.
    Returns the names of the ones that needed SIGKILL."""
    for d in reversed(daemons):
        d.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    killed = []
    for d in daemons:
        while d.alive():
            d.reap()
            if time.monotonic() > deadline:
                d.signal(signal.SIGKILL)
                killed.append(d.name)
                for _ in range(100):
                    d.reap()
                    if not d.alive():
                        break
                    time.sleep(0.02)
                break
            time.sleep(0.02)
        d.reap()
    return killed


def check_socket_path(path: str) -> None:
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise SandboxError("sandbox", f"socket path too long for a unix socket ({path}); "
                           "use a shorter --dir or PYOVN_SANDBOX_DIR")
