"""`pyovn appctl`: ovs-appctl's interface, for pyovn and OVS daemons alike.

    pyovn appctl [-t TARGET] [-T SECS] COMMAND [ARG...]

TARGET is a control socket path (starting with '/') or a daemon name, resolved as
ovs-appctl does: read <rundir>/<name>.pid and use <rundir>/<name>.<pid>.ctl (falling
back to <rundir>/<name>.ctl when there is no pidfile).  The rundir is $OVS_RUNDIR,
default /var/run/openvswitch.  Exit status as ovs-appctl: 0 success, 1 cannot reach
the target, 2 the daemon replied with an error; a timeout exits with 142 (ovs-appctl
dies of SIGALRM there).
"""

from __future__ import annotations

import asyncio
import os
import sys

from pyovn import __version__
from pyovn.jsonrpc.unixctl import UnixctlError, default_rundir, unixctl_call

PROG = "pyovn appctl"
DEFAULT_TARGET = "ovs-vswitchd"
EXIT_TIMEOUT = 128 + 14

USAGE = f"""\
{PROG}, for querying and controlling pyovn and Open vSwitch daemons
usage: {PROG} [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  pidfile or socket to contact
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
  vlog/list          List current logging levels
  vlog/list-pattern  List logging patterns for each destination.
  vlog/set [SPEC]
      Set log levels as detailed in SPEC, which may include:
      A valid module name (all modules, by default)
      'syslog', 'console', 'file' (all destinations, by default))
      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', bydefault)
  vlog/reopen        Make the program reopen its log file
Other options:
  --timeout=SECS     wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display {PROG} version information
"""


class _Fatal(Exception):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def resolve_target(target: str, rundir: str | None = None) -> str:
    """The control socket path for `target` (a path, or a daemon name)."""
    if target.startswith("/"):
        return target
    rundir = rundir if rundir is not None else default_rundir()
    pidfile = os.path.join(rundir, f"{target}.pid")
    try:
        with open(pidfile, encoding="ascii", errors="replace") as f:
            text = f.readline().strip()
    except OSError as exc:
        ctl = os.path.join(rundir, f"{target}.ctl")
        if isinstance(exc, FileNotFoundError) and os.path.exists(ctl):
            return ctl
        raise _Fatal(f'cannot read pidfile "{pidfile}" ({exc.strerror})') from None
    if not text.isdigit() or int(text) <= 0:
        raise _Fatal(f'cannot read pidfile "{pidfile}" (pidfile contains {text!r}, not a pid)')
    return os.path.join(rundir, f"{target}.{int(text)}.ctl")


def _parse(argv: list[str]) -> tuple[str, float | None, str, list[str]] | int:
    target = DEFAULT_TARGET
    timeout: float | None = None
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        opt = argv[i]
        i += 1
        if opt == "--":
            break
        if opt in ("-h", "--help"):
            print(USAGE, end="")
            return 0
        if opt in ("-V", "--version"):
            print(f"{PROG} (pyovn) {__version__}")
            return 0
        name, eq, value = opt.partition("=")
        if name in ("-t", "--target", "-T", "--timeout") and not eq:
            if i >= len(argv):
                raise _Fatal(f"option '{name}' requires an argument")
            value = argv[i]
            i += 1
        elif opt.startswith(("-t", "-T")) and len(opt) > 2 and not opt.startswith("--"):
            name, value = opt[:2], opt[2:]
        elif not eq:
            raise _Fatal(f"unrecognized option '{opt}' (use --help for help)")
        if name in ("-t", "--target"):
            target = value
        elif name in ("-T", "--timeout"):
            try:
                timeout = float(value)
            except ValueError:
                raise _Fatal(f'value "{value}" on --timeout is not a number') from None
            if timeout < 0:
                raise _Fatal(f'value "{value}" on --timeout is invalid')
        else:
            raise _Fatal(f"unrecognized option '{name}' (use --help for help)")
    if i >= len(argv):
        raise _Fatal("at least one non-option argument is required (use --help for help)")
    return target, (timeout or None), argv[i], argv[i + 1 :]


def main(argv: list[str]) -> int:
    try:
        parsed = _parse(argv)
        if isinstance(parsed, int):
            return parsed
        target, timeout, command, args = parsed
        path = resolve_target(target)
        try:
            result = asyncio.run(unixctl_call(path, command, args, timeout=timeout))
        except UnixctlError as exc:
            sys.stderr.write(str(exc))
            raise _Fatal(f"{target}: server returned an error", 2) from None
        except TimeoutError:
            msg = f"{target}: no response within {timeout:g} seconds"
            raise _Fatal(msg, EXIT_TIMEOUT) from None
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
            raise _Fatal(f'cannot connect to "{path}" ({exc.strerror})') from None
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise _Fatal(f"{target}: transaction error ({detail})") from None
        except Exception as exc:  # framing or protocol errors from a broken peer
            raise _Fatal(f"{target}: transaction error ({exc})") from None
    except _Fatal as exc:
        sys.stderr.flush()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.status
    sys.stdout.write(result)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
