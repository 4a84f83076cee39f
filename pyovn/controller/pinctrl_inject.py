"""Packets the controller sends on its own schedule (gratuitous ARPs, periodic router
advertisements): a small asyncio task that asks a schedule what is due, sends it as
packet-outs through the switch connection, and sleeps until the next one is due or the
daemon offers a new wanted set.  The schedules themselves are pure (pinctrl_garp.py,
pinctrl_ra.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pyovn.openflow import SwitchConnection

log = logging.getLogger("pyovn.controller.inject")


class Injectable(Protocol):
    def packet_out(self, xid: int) -> bytes: ...


class Schedule(Protocol):
    @property
    def entries(self) -> Mapping[str, Any]: ...

    def update(self, wanted: Mapping[str, Any], now: float) -> bool:
        """Takes the wanted set; True if something new is scheduled."""

    def due(self, now: float) -> list[Any]:
        """What to send now (each rescheduled as sent)."""

    def next_time(self) -> float | None: ...


class Injector:
    """offer() after each computation that installed flows; close() when the daemon
    stops.  offer() starts the task on first use; the task sends through the connection
    offer() last gave it.  Without a switch the schedule does not advance (as in
    ovn-controller, which only injects while connected): it looks again every 0.5 s."""

    def __init__(self, sched: Schedule, what: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sched = sched
        self.what = what
        self.clock = clock
        self.conn: SwitchConnection | None = None
        self.sent = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def offer(self, wanted: Mapping[str, Any], conn: SwitchConnection | None) -> None:
        self.conn = conn
        if self.sched.update(wanted, self.clock()):
            self._wake.set()
        if self._task is None and self.sched.entries:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._send_due()
            except Exception:
                log.exception("sending %s failed", self.what)
            nxt = self.sched.next_time()
            timeout = None if nxt is None else max(0.0, nxt - self.clock())
            if self.conn is None or self.conn._closed is not None:
                timeout = 0.5 if nxt is not None else None
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _send_due(self) -> None:
        conn = self.conn
        if conn is None or conn._closed is not None:
            return
        due: list[Injectable] = self.sched.due(self.clock())
        for a in due:
            conn.send(a.packet_out(conn.xid()))
        if due:
            self.sent += len(due)
            await conn.drain()
