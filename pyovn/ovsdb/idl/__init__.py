"""The OVSDB client replica ("IDL") every pyovn daemon and tool uses.

- replica.py: tables, typed rows, applying updates, change tracking (pure);
- transaction.py: a transaction on the replica as one "transact" request (pure);
- session.py: the asyncio connection: reconnects, probes, monitor_cond_since resume,
  condition changes, locks, commits;
- blocking.py: the same for command-line tools, without asyncio in sight.
"""

from pyovn.ovsdb.idl.blocking import BlockingIdl
from pyovn.ovsdb.idl.replica import (
    ChangeSet,
    Replica,
    ReplicaError,
    Row,
    SchemaHelper,
    Table,
    TableChanges,
)
from pyovn.ovsdb.idl.session import ZERO_TXN_ID, Idl, SyncStats, TxnOutcome
from pyovn.ovsdb.idl.transaction import Transaction, TransactionError, TxnStatus

__all__ = [
    "ZERO_TXN_ID",
    "BlockingIdl",
    "ChangeSet",
    "Idl",
    "Replica",
    "ReplicaError",
    "Row",
    "SchemaHelper",
    "SyncStats",
    "Table",
    "TableChanges",
    "Transaction",
    "TransactionError",
    "TxnOutcome",
    "TxnStatus",
]
