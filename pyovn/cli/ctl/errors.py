"""The error every command and parser raises: printed as "PROGRAM: message", exit status 1."""

from __future__ import annotations


class CtlError(Exception):
    """A failure that ends the whole batch (ovs-vsctl's ctl_fatal / ctx->error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TryAgain(Exception):
    """A command wants the batch rerun once the replica changes (wait-until)."""
