"""A blocking wrapper around the asyncio Idl, for command-line tools.

The event loop is private and runs only inside this wrapper's calls (as python-ovs's IDL
does its work only in Idl.run()), so between calls the replica cannot change under the
caller and no thread is involved.  The cost: nothing answers the server's echo probes while
the tool is busy elsewhere, which is fine for short-lived tools and what python-ovs does too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from pyovn.ovsdb.idl.replica import ChangeSet, Replica, SchemaHelper, Table
from pyovn.ovsdb.idl.session import Condition, Idl, TxnOutcome
from pyovn.ovsdb.idl.transaction import Transaction, TxnStatus

__all__ = ["BlockingIdl"]

T = TypeVar("T")


class BlockingIdl:
    """Connects and waits for the first sync on construction (raises TimeoutError)."""

    def __init__(
        self,
        remotes: str | Sequence[str],
        helper: SchemaHelper,
        *,
        timeout: float = 30.0,
        **options: Any,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self.idl = Idl(remotes, helper, **options)
        try:
            self._call(self.idl.wait_synced(timeout))
        except BaseException:
            self.close()
            raise

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("BlockingIdl is closed")
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.idl.close())
            self._loop.close()

    def __enter__(self) -> BlockingIdl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def replica(self) -> Replica:
        return self.idl.replica

    @property
    def tables(self) -> dict[str, Table]:
        return self.idl.replica.tables

    @property
    def change_seqno(self) -> int:
        return self.idl.change_seqno

    def run(self, timeout: float = 0.0) -> None:
        """Lets pending updates in: for `timeout` seconds, or until what is queued is done."""
        self._call(asyncio.sleep(timeout))
        for _ in range(3):  # a read, its handling, and what it woke up
            self._call(asyncio.sleep(0))

    def wait_for_change(self, seqno: int, timeout: float | None = None) -> bool:
        return self._call(self.idl.wait_for_change(seqno, timeout))

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        self._call(self.idl.wait_until(predicate, timeout))

    def take_changes(self) -> ChangeSet:
        return self.idl.take_changes()

    def set_condition(self, table: str, condition: Condition) -> None:
        self._call(self.idl.set_condition(table, condition))

    def set_lock(self, name: str | None) -> None:
        self._call(self.idl.set_lock(name))

    def wait_for_lock(self, timeout: float | None = None) -> None:
        self._call(self.idl.wait_for_lock(timeout))

    def transaction(self) -> Transaction:
        return self.idl.transaction()

    def commit_block(self, txn: Transaction, timeout: float | None = None) -> TxnStatus:
        return self._call(self.idl.commit(txn, timeout))

    def transact(self, build: Callable[[Transaction], T], **options: Any) -> TxnOutcome[T]:
        return self._call(self.idl.transact(build, **options))
