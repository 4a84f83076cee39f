"""What every pyovn daemon shares with OVS daemons on its command line.

--pidfile[=FILE], --overwrite-pidfile, --detach, --no-chdir, --monitor, --user,
--log-file[=FILE], --unixctl=SOCKET, -v/--verbose[=SPEC] behave as in OVS, with the
same default paths: <rundir>/<prog>.pid, <logdir>/<prog>.log, <rundir>/<prog>.<pid>.ctl
where rundir is $OVS_RUNDIR (default /var/run/openvswitch) and logdir $OVS_LOGDIR
(default /var/log/openvswitch), or for OVN's daemons (project="ovn") $OVN_RUNDIR
(/var/run/ovn) and $OVN_LOGDIR (/var/log/ovn).  The pidfile is locked with fcntl() like OVS's, since
ovs-appctl -t NAME refuses a pidfile that no process holds locked.

Typical use:

    parser = argparse.ArgumentParser(prog="pyovn ovsdb-server")
    add_daemon_options(parser)
    args = parser.parse_args(argv)
    ctx = setup_daemon(args, "ovsdb-server")   # forks here with --detach
    run_async_main(serve(ctx))              # serve() calls ctx.startup_done() once ready
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import errno
import fcntl
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

from pyovn.jsonrpc.unixctl import UnixctlServer, default_rundir
from pyovn.jsonrpc.vlog import Vlog, VlogError

__all__ = [
    "DaemonContext",
    "DaemonError",
    "add_daemon_options",
    "default_logdir",
    "default_rundir",
    "normalize_argv",
    "parse_args",
    "run_async_main",
    "setup_daemon",
]

log = logging.getLogger("pyovn.daemon")

T = TypeVar("T")

FATAL_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

# Options whose argument is optional and, as with getopt, must be attached
# ("--pidfile=FILE", "-vSPEC"); argparse would otherwise swallow the next word.
_OPTIONAL_ARG_OPTIONS = ("--pidfile", "--log-file", "--verbose", "-v")


class DaemonError(Exception):
    """A daemon option that cannot be honoured (bad spec, pidfile in use...)."""


def default_logdir(project: str = "ovs") -> str:
    if project == "ovn":
        return os.environ.get("OVN_LOGDIR", "/var/log/ovn")
    return os.environ.get("OVS_LOGDIR", "/var/log/openvswitch")


def project_rundir(project: str = "ovs") -> str:
    """OVS daemons live in $OVS_RUNDIR (/var/run/openvswitch), OVN's in $OVN_RUNDIR
    (/var/run/ovn): where their pidfiles and control sockets go, and where ovn-appctl looks."""
    if project == "ovn":
        return os.environ.get("OVN_RUNDIR", "/var/run/ovn")
    return default_rundir()


def add_daemon_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("daemon options")
    g.add_argument("--pidfile", nargs="?", const="", default=None, metavar="FILE",
                   help="create pidfile (default: <rundir>/<program>.pid)")
    g.add_argument("--overwrite-pidfile", action="store_true",
                   help="with --pidfile, start even if already running")
    g.add_argument("--detach", action="store_true", help="run in background as daemon")
    g.add_argument("--no-chdir", action="store_true",
                   help="do not chdir to '/' when detaching")
    g.add_argument("--monitor", action="store_true",
                   help="accepted for compatibility; pyovn does not restart itself")
    g.add_argument("--user", metavar="USER[:GROUP]",
                   help="accepted for compatibility; privileges are not dropped")
    g.add_argument("--unixctl", metavar="SOCKET",
                   help="override default control socket name ('none' for no socket)")
    lg = parser.add_argument_group("logging options")
    lg.add_argument("--log-file", nargs="?", const="", default=None, metavar="FILE",
                    help="enable logging to file (default: <logdir>/<program>.log)")
    lg.add_argument("-v", "--verbose", nargs="?", const="", action="append", default=[],
                    metavar="SPEC",
                    help="set logging levels, e.g. -vconsole:off -vfile:info; "
                    "-v alone: everything at dbg")
    # argparse would let a bare "--pidfile" swallow the next word ("--pidfile db.file");
    # OVS's getopt never does.  Normalise whatever the caller parses, so that plain
    # parser.parse_args() is safe too.
    inner = parser.parse_known_args

    def parse_known_args(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        argv = list(sys.argv[1:] if args is None else args)
        return inner(normalize_argv(argv), namespace)

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign,assignment]


def normalize_argv(argv: list[str]) -> list[str]:
    """Rewrites bare "--pidfile", "--log-file", "-v", "--verbose" to the "=" form, so that
    (as with OVS's getopt) they never take the following word as their argument."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + argv[i:]
        if arg == "-v":
            out.append("--verbose=")
        elif arg in _OPTIONAL_ARG_OPTIONS:
            out.append(f"{arg}=")
        else:
            out.append(arg)
    return out


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    return parser.parse_args(normalize_argv(argv))


def _abs_file_name(base: str, name: str) -> str:
    return name if name.startswith("/") else os.path.join(base, name)


@dataclass
class DaemonContext:
    """A running daemon's paths and logging, and the cleanup it owes at exit."""

    program_name: str
    rundir: str
    logdir: str
    pidfile: str | None
    log_file: str | None
    unixctl_option: str | None
    detach: bool
    no_chdir: bool
    vlog: Vlog
    _ready_fd: int | None = None
    _pidfile_fd: int | None = None
    _cleanups: list[Callable[[], None]] = field(default_factory=list)
    _cleaned: bool = False

    @property
    def unixctl_path(self) -> str | None:
        """Where the control socket goes; None for --unixctl=none."""
        if self.unixctl_option == "none":
            return None
        if self.unixctl_option:
            return _abs_file_name(self.rundir, self.unixctl_option)
        return os.path.join(self.rundir, f"{self.program_name}.{os.getpid()}.ctl")

    def make_unixctl_server(self, version: str | None = None) -> UnixctlServer:
        return UnixctlServer(self.program_name, version, self.vlog)

    async def start_unixctl(self, server: UnixctlServer | None = None) -> UnixctlServer | None:
        """Starts the control socket at unixctl_path (None with --unixctl=none); the
        socket file is removed at exit."""
        path = self.unixctl_path
        if path is None:
            return None
        server = server if server is not None else self.make_unixctl_server()
        await server.start(path)
        self.add_cleanup(lambda: _unlink_quietly(path))
        return server

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        """Runs `fn` at exit, including on SIGTERM/SIGINT/SIGHUP."""
        self._cleanups.append(fn)

    def startup_done(self) -> None:
        """With --detach, lets the parent process exit 0 and cuts the daemon loose from
        the terminal.  Call once the daemon is listening.  A no-op otherwise."""
        if self._ready_fd is None:
            return
        fd, self._ready_fd = self._ready_fd, None
        with contextlib.suppress(OSError):
            os.write(fd, b"1")
        os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            with contextlib.suppress(OSError):
                os.dup2(devnull, std)
        os.close(devnull)
        if not self.no_chdir:
            os.chdir("/")

    def cleanup(self) -> None:
        """Removes the pidfile and runs the registered cleanups (once)."""
        if self._cleaned:
            return
        self._cleaned = True
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:
                log.exception("cleanup failed")
        if self.pidfile is not None and self._pidfile_fd is not None:
            _unlink_quietly(self.pidfile)
            os.close(self._pidfile_fd)
            self._pidfile_fd = None


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _pid_holding_lock(path: str) -> int | None:
    """The pid in `path` if some other process holds the pidfile lock, else None."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            text = os.read(fd, 32).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else -1
        return None  # stale: nobody holds it
    finally:
        os.close(fd)  # also drops the probe lock


def _make_pidfile(path: str, overwrite: bool) -> int:
    if not overwrite:
        pid = _pid_holding_lock(path)
        if pid is not None:
            raise DaemonError(f"{path}: already running as pid {pid}, aborting")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        raise DaemonError(f"{tmp}: create failed ({exc.strerror})") from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.rename(tmp, path)
    except OSError as exc:
        os.close(fd)
        _unlink_quietly(tmp)
        raise DaemonError(f"{path}: could not create pidfile ({exc.strerror})") from None
    os.set_inheritable(fd, False)
    return fd


def _fork_and_wait(program_name: str) -> int:
    """Double-forks; returns (in the daemon) the write end of the readiness pipe.  The
    original process waits for startup_done() and exits 0, or exits 1 if the daemon dies
    first."""
    rfd, wfd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid > 0:
        os.close(wfd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # the intermediate child exits at once
        data = b""
        with contextlib.suppress(OSError):
            data = os.read(rfd, 1)
        if data:
            os._exit(0)
        sys.stderr.write(f"{program_name}: fork child died before signaling startup\n")
        sys.stderr.flush()
        os._exit(1)
    os.close(rfd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    return wfd


def setup_daemon(
    args: argparse.Namespace, program_name: str, fatal_signals: bool = True,
    project: str = "ovs",
) -> DaemonContext:
    """Applies the daemon options: logging levels, --detach (forks here, before any event
    loop exists), pidfile, log file, exit cleanup.  Raises DaemonError on bad options."""
    rundir = project_rundir(project)
    logdir = default_logdir(project)
    vlog = Vlog()
    try:
        for spec in args.verbose or []:
            if spec == "":
                vlog.set_level(None, None, "dbg")
            else:
                vlog.set_levels_from_string(spec)
    except VlogError as exc:
        raise DaemonError(str(exc)) from None

    pidfile: str | None = None
    if args.pidfile is not None:
        pidfile = (_abs_file_name(rundir, args.pidfile) if args.pidfile
                   else os.path.join(rundir, f"{program_name}.pid"))
    log_file: str | None = None
    if args.log_file is not None:
        log_file = (os.path.abspath(args.log_file) if args.log_file
                    else os.path.join(logdir, f"{program_name}.log"))

    ctx = DaemonContext(
        program_name=program_name, rundir=rundir, logdir=logdir, pidfile=pidfile,
        log_file=log_file, unixctl_option=args.unixctl, detach=bool(args.detach),
        no_chdir=bool(args.no_chdir), vlog=vlog,
    )
    if pidfile is not None and not args.overwrite_pidfile:
        # Fail in the foreground, where the user sees it, when we can tell early.
        pid = _pid_holding_lock(pidfile)
        if pid is not None:
            raise DaemonError(f"{pidfile}: already running as pid {pid}, aborting")
    if ctx.detach:
        ctx._ready_fd = _fork_and_wait(program_name)
    if pidfile is not None:
        ctx._pidfile_fd = _make_pidfile(pidfile, bool(args.overwrite_pidfile))
    atexit.register(ctx.cleanup)

    vlog.install()
    if log_file is not None:
        try:
            vlog.set_log_file(log_file)
        except OSError as exc:
            raise DaemonError(f"{log_file}: could not open log file ({exc.strerror})") from None
    if args.user:
        log.info("--user=%s: ignored, pyovn does not drop privileges", args.user)
    if fatal_signals:
        _install_fatal_signal_handlers(ctx)
    return ctx


def _install_fatal_signal_handlers(ctx: DaemonContext) -> None:
    sig_log = logging.getLogger("pyovn.fatal_signal")

    def handler(signum: int, frame: FrameType | None) -> None:
        sig_log.warning("terminating with signal %d (%s)", signum,
                        signal.strsignal(signum) or "unknown")
        ctx.cleanup()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in FATAL_SIGNALS:
        signal.signal(sig, handler)


def tune_gc() -> None:
    """For a daemon whose state is many small containers without reference cycles (an
    OVSDB server's rows, northd's replicas and units): the cyclic collector walking them
    dominated the cost of small transactions.  Collect rarely, and never look at what was
    loaded at startup again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def run_async_main(coro: Coroutine[Any, Any, T]) -> T:
    """Runs the daemon's main coroutine, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    result: T = uvloop.run(coro)
    return result
