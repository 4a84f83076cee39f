"""OVS "vlog" logging on top of Python's logging module.

Every pyovn daemon logs like an OVS one: the same line format
(``2024-01-01T00:00:00.000Z|00001|module|INFO|message``), the same three destinations
(console, syslog, file) with a level per module and destination, and the same
``-v``/``vlog/set`` spec syntax, so operators' habits and scripts carry over.

The module of a record is the last dotted component of its logger's name
("pyovn.ovsdb.server" logs as "server"); that is also the name ``vlog/set`` takes.
Syslog is accepted as a destination (levels are tracked) but nothing is sent to it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO

__all__ = ["DESTINATIONS", "LEVELS", "Vlog", "VlogError", "module_of"]

DESTINATIONS = ("console", "syslog", "file")
LEVELS = ("off", "emer", "err", "warn", "info", "dbg")

# OVS level index -> the lowest Python level it lets through.
_PY_THRESHOLD = {
    0: logging.CRITICAL + 100,  # off
    1: logging.CRITICAL,
    2: logging.ERROR,
    3: logging.WARNING,
    4: logging.INFO,
    5: 1,  # dbg: everything, including custom levels below DEBUG
}

_PATTERNS = {
    "console": "%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m",
    "syslog": "ovs|%05N|%c%T|%p|%m",
    "file": "%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m",
}
_PREFIXES = {"console": "none", "syslog": "<%B> %D{%h %e %T} %E %A:", "file": "none"}


class VlogError(ValueError):
    """A bad -v / vlog/set spec."""


def module_of(logger_name: str) -> str:
    return logger_name.rsplit(".", 1)[-1]


def _ovs_level_name(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "EMER"
    if levelno >= logging.ERROR:
        return "ERR"
    if levelno >= logging.WARNING:
        return "WARN"
    if levelno >= logging.INFO:
        return "INFO"
    return "DBG"


class _Handler(logging.Handler):
    def __init__(self, vlog: Vlog) -> None:
        super().__init__(logging.NOTSET)
        self.vlog = vlog

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.vlog._emit(record)
        except Exception:
            self.handleError(record)


class Vlog:
    """Per-module, per-destination levels and the handler that applies them."""

    def __init__(self, default_level: str = "info") -> None:
        lvl = self._level_index(default_level)
        self._default = [lvl, lvl, lvl]
        self._modules: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self.log_file: str | None = None
        self._file: IO[str] | None = None
        self.console: IO[str] | None = None  # None: whatever sys.stderr is at the time
        self._handler = _Handler(self)
        self._installed_on: logging.Logger | None = None

    # --- configuration -------------------------------------------------------------------

    @staticmethod
    def _level_index(name: str) -> int:
        try:
            return LEVELS.index(name.lower())
        except ValueError:
            raise VlogError(f'no destination, level, or module "{name}"') from None

    def register_module(self, name: str) -> None:
        """Makes `name` known (listed by vlog/list, settable) before it first logs."""
        with self._lock:
            self._modules.setdefault(name, list(self._default))

    def modules(self) -> list[str]:
        names = set(self._modules)
        for logger_name in logging.root.manager.loggerDict:
            if logger_name == "pyovn" or logger_name.startswith("pyovn."):
                names.add(module_of(logger_name))
        return sorted(names)

    def levels(self, module: str) -> tuple[str, str, str]:
        lv = self._modules.get(module, self._default)
        return (LEVELS[lv[0]], LEVELS[lv[1]], LEVELS[lv[2]])

    def set_level(self, module: str | None, destination: str | None, level: str) -> None:
        """Sets `level` for one module (None: all) and one destination (None: all)."""
        lvl = self._level_index(level)
        dests = range(3) if destination is None else [DESTINATIONS.index(destination)]
        with self._lock:
            if module is None:
                for name in self.modules():
                    self._modules.setdefault(name, list(self._default))
                targets = [self._default, *self._modules.values()]
            else:
                targets = [self._modules.setdefault(module, list(self._default))]
            for lv in targets:
                for d in dests:
                    lv[d] = lvl
        self._update_root_level()

    def set_levels_from_string(self, spec: str) -> None:
        """Applies one spec like "console:off", "jsonrpc:file:dbg", "ANY:ANY:info", "dbg".

        Words are separated by ':' or whitespace; each names a destination, a level or a
        module (or "any").  Omitted parts mean all modules, all destinations, level dbg.
        """
        words = spec.replace(":", " ").split()
        if words and words[0].upper() in ("PATTERN", "FACILITY"):
            raise VlogError(f"{words[0]} settings are not supported by pyovn")
        module: str | None = None
        destination: str | None = None
        level: str | None = None
        known = {name.lower(): name for name in self.modules()}
        for word in words:
            lw = word.lower()
            if lw == "any":
                continue
            if lw in DESTINATIONS:
                if destination is not None:
                    raise VlogError("cannot specify multiple destinations")
                destination = lw
            elif lw in LEVELS:
                if level is not None:
                    raise VlogError("cannot specify multiple levels")
                level = lw
            elif lw in known:
                if module is not None:
                    raise VlogError("cannot specify multiple modules")
                module = known[lw]
            else:
                raise VlogError(f'no destination, level, or module "{word}"')
        self.set_level(module, destination, level or "dbg")

    # --- output --------------------------------------------------------------------------

    def list_levels(self) -> str:
        """The text of vlog/list."""
        lines = [
            "                 console    syslog    file\n",
            "                 -------    ------    ------\n",
        ]
        for name in self.modules():
            c, s, f = (lv.upper() for lv in self.levels(name))
            lines.append(f"{name:<16}  {c:>4}       {s:>4}       {f:>4}\n")
        return "".join(lines)

    def list_patterns(self) -> str:
        """The text of vlog/list-pattern."""
        lines = [f"         {'prefix':<34}{'format'}\n", f"         {'------':<34}------\n"]
        for dest in DESTINATIONS:
            lines.append(f"{dest.upper():<9}{_PREFIXES[dest]:<34}{_PATTERNS[dest]}\n")
        return "".join(lines)

    def set_log_file(self, path: str | None) -> None:
        """Starts (or, with None, stops) logging to `path`."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self.log_file = path
            if path is not None:
                self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        if path is not None:
            logging.getLogger("pyovn.vlog").info("opened log file %s", path)

    def reopen_log_file(self) -> None:
        """vlog/reopen: for log rotation."""
        if self.log_file is not None:
            self.set_log_file(self.log_file)

    def close_log_file(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def install(self, logger: logging.Logger | None = None) -> None:
        """Routes `logger` (default: the root logger) through this Vlog, replacing its
        handlers."""
        target = logger if logger is not None else logging.getLogger()
        for h in list(target.handlers):
            target.removeHandler(h)
        target.addHandler(self._handler)
        self._installed_on = target
        self._update_root_level()

    def _update_root_level(self) -> None:
        # Keep disabled debug calls cheap: let the logger itself drop what no destination
        # of any module wants.
        if self._installed_on is None:
            return
        most = max([*self._default, *(v for lv in self._modules.values() for v in lv)])
        self._installed_on.setLevel(_PY_THRESHOLD[most])

    def _emit(self, record: logging.LogRecord) -> None:
        module = module_of(record.name)
        lv = self._modules.get(module, self._default)
        levelno = record.levelno
        to_console = levelno >= _PY_THRESHOLD[lv[0]]
        to_file = self._file is not None and levelno >= _PY_THRESHOLD[lv[2]]
        if not (to_console or to_file or levelno >= _PY_THRESHOLD[lv[1]]):
            return
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + logging.Formatter().formatException(record.exc_info)
        with self._lock:
            self._seq += 1
            body = f"|{self._seq:05d}|{module}|{_ovs_level_name(levelno)}|{msg}\n"
            t = record.created
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            if to_console:
                stream = self.console if self.console is not None else sys.stderr
                stream.write(f"{stamp}Z{body}")
                stream.flush()
            if to_file and self._file is not None:
                self._file.write(f"{stamp}.{int(t * 1000) % 1000:03d}Z{body}")
                self._file.flush()
