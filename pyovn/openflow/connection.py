"""An asyncio OpenFlow 1.5 connection to a switch (e.g. `unix:/run/openvswitch/br-int.mgmt`):
hello negotiation, echo answering, replies matched to requests by xid, barriers, atomic
bundles, and packet-ins delivered on a queue.

Errors the switch returns for messages nobody waits on are kept until the next barrier,
which reports them: that is how a batch of fire-and-forget flow_mods learns what failed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import Iterable, Sequence

from pyovn.openflow import messages as M
from pyovn.openflow import protocol as P
from pyovn.openflow.messages import ErrorMsg, PacketIn2
from pyovn.openflow.protocol import OpenFlowError

_REPLY_TYPES = frozenset({P.OFPT_ECHO_REPLY, P.OFPT_FEATURES_REPLY, P.OFPT_BARRIER_REPLY,
                          P.OFPT_BUNDLE_CONTROL, P.OFPT_GET_CONFIG_REPLY,
                          P.OFPT_GET_ASYNC_REPLY, P.OFPT_ROLE_REPLY})
_MULTIPART_MORE = 1


class SwitchError(OpenFlowError):
    """The switch answered a request with an OFPT_ERROR."""

    def __init__(self, error: ErrorMsg, what: str = "") -> None:
        super().__init__(f"{what}: {error}" if what else str(error))
        self.error = error


class BundleError(OpenFlowError):
    """A bundle was refused; nothing in it was applied."""

    def __init__(self, message: str, errors: Sequence[ErrorMsg],
                 failed: Sequence[int] = ()) -> None:
        super().__init__(message + "".join(f"; {e}" for e in errors[:5]))
        self.errors = list(errors)
        # Positions (in the list given to bundle()) of the messages the switch refused.
        self.failed = list(failed)


class SwitchConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.xid = P.XidAllocator()
        self._pending: dict[int, asyncio.Future[list[bytes]]] = {}
        self._multipart: dict[int, list[bytes]] = {}
        self._errors: list[ErrorMsg] = []
        self._bundle_ids = itertools.count(1)
        self.packet_ins: asyncio.Queue[PacketIn2] = asyncio.Queue()
        self.async_messages: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        self.features: M.Features | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._closed: BaseException | None = None

    # -- setup -------------------------------------------------------------------

    @classmethod
    async def open(cls, target: str, timeout: float = 10.0,
                   packet_in2: bool = True) -> SwitchConnection:
        """Connects to 'unix:PATH' (or a bare path), negotiates OpenFlow 1.5, fetches
        features and, by default, asks for NXT_PACKET_IN2 packet-ins."""
        path = target[5:] if target.startswith("unix:") else target
        if target.startswith(("tcp:", "ssl:")):
            raise OpenFlowError(f"only unix sockets are supported, not {target!r}")
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
        conn = cls(reader, writer)
        try:
            await asyncio.wait_for(conn._handshake(packet_in2), timeout)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _handshake(self, packet_in2: bool) -> None:
        self._writer.write(M.hello(self.xid()))
        msg = await self._read_message()
        h = P.parse_header(msg)
        if h.type != P.OFPT_HELLO:
            raise OpenFlowError(f"expected hello, got message type {h.type}")
        if P.OFP_VERSION not in M.decode_hello_versions(msg):
            raise OpenFlowError("switch does not offer OpenFlow 1.5")
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        reply = await self.request(M.features_request(self.xid()))
        self.features = M.decode_features_reply(reply[0])
        if packet_in2:
            self.send(M.set_packet_in_format(self.xid()))
            await self.check_barrier()

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._fail_pending(ConnectionError("connection closed"))

    async def __aenter__(self) -> SwitchConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reading -----------------------------------------------------------------

    async def _read_message(self) -> bytes:
        head = await self._reader.readexactly(P.OFP_HEADER_LEN)
        h = P.parse_header(head)
        return head + await self._reader.readexactly(h.length - P.OFP_HEADER_LEN)

    async def _read_loop(self) -> None:
        try:
            while True:
                self._dispatch(await self._read_message())
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # EOF, reset, malformed stream: fail every waiter
            self._fail_pending(e if isinstance(e, Exception) else ConnectionError(str(e)))

    def _fail_pending(self, exc: BaseException) -> None:
        self._closed = exc
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(exc)
        self._pending.clear()

    def _dispatch(self, msg: bytes) -> None:
        h = P.parse_header(msg)
        if h.type == P.OFPT_ECHO_REQUEST:
            self._writer.write(M.echo_reply(h.xid, msg[8:]))
        elif h.type == P.OFPT_ERROR:
            err = M.decode_error(msg)
            fut = self._pending.pop(h.xid, None)
            if fut is not None and not fut.done():
                fut.set_exception(SwitchError(err))
            else:
                self._errors.append(err)
        elif h.type == P.OFPT_MULTIPART_REPLY:
            parts = self._multipart.setdefault(h.xid, [])
            parts.append(msg)
            (flags,) = struct.unpack_from("!H", msg, 10)
            if not flags & _MULTIPART_MORE:
                self._resolve(h.xid, self._multipart.pop(h.xid))
        elif h.type in _REPLY_TYPES:
            self._resolve(h.xid, [msg])
        elif h.type == P.OFPT_EXPERIMENTER and len(msg) >= 16 and \
                struct.unpack_from("!II", msg, 8) == (P.NX_VENDOR_ID, P.NXT_PACKET_IN2):
            self.packet_ins.put_nowait(M.decode_packet_in2(msg))
        elif h.type == P.OFPT_EXPERIMENTER and h.xid in self._pending:
            self._resolve(h.xid, [msg])
        else:
            with contextlib.suppress(asyncio.QueueFull):
                self.async_messages.put_nowait(msg)

    def _resolve(self, xid: int, msgs: list[bytes]) -> None:
        fut = self._pending.pop(xid, None)
        if fut is not None and not fut.done():
            fut.set_result(msgs)

    # -- writing -----------------------------------------------------------------

    def send(self, msg: bytes) -> None:
        """Queues a message that expects no reply; errors surface at the next barrier."""
        if self._closed is not None:
            raise ConnectionError(f"connection is down: {self._closed}")
        self._writer.write(msg)

    def send_many(self, msgs: Iterable[bytes]) -> None:
        self.send(b"".join(msgs))

    async def drain(self) -> None:
        await self._writer.drain()

    async def request(self, msg: bytes, timeout: float = 30.0) -> list[bytes]:
        """Sends 'msg' and waits for the reply (all parts of a multipart reply) with its
        xid; an error reply raises SwitchError."""
        xid = P.parse_header(msg).xid
        fut: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()
        self._pending[xid] = fut
        try:
            self.send(msg)
            await self._writer.drain()
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(xid, None)

    async def barrier(self, timeout: float = 60.0) -> list[ErrorMsg]:
        """Waits until the switch has processed everything sent so far; returns (and
        forgets) the errors it reported for unacknowledged messages meanwhile."""
        await self.request(M.barrier_request(self.xid()), timeout)
        errors, self._errors = self._errors, []
        return errors

    async def check_barrier(self, timeout: float = 60.0) -> None:
        errors = await self.barrier(timeout)
        if errors:
            raise SwitchError(errors[0], f"{len(errors)} message(s) failed")

    async def echo(self, data: bytes = b"") -> bytes:
        reply = await self.request(M.echo_request(self.xid(), data))
        return reply[0][8:]

    def _expect(self, xid: int) -> asyncio.Future[list[bytes]]:
        fut: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()
        self._pending[xid] = fut
        return fut

    async def bundle(self, msgs: Iterable[bytes], timeout: float = 120.0) -> None:
        """Applies 'msgs' atomically: either every one takes effect or none does.

        Open vSwitch checks each message when it is added and applies them at commit;
        a message refused on add would otherwise be silently left out of the commit, so
        the adds are followed by a barrier and any refusal discards the whole bundle.  The
        open request, the adds and that barrier go out together (one round trip), then
        the commit (a second).

        'msgs' may be a generator: messages are then encoded while the switch checks the
        ones already sent, rather than all before the first is sent (ovs-vswitchd takes
        4-6 us to check each add of a large bundle, pyovn ~3 us to encode a flow_mod)."""
        bid = next(self._bundle_ids) & 0xFFFFFFFF
        open_xid, barrier_xid = self.xid(), -1
        index: dict[int, int] = {}
        futs = [self._expect(open_xid)]
        next_xid, wrap = self.xid, M.bundle_add
        try:
            chunk = [M.bundle_control(open_xid, bid, M.OFPBCT_OPEN_REQUEST)]
            try:
                for i, m in enumerate(msgs):
                    xid = next_xid()
                    index[xid] = i
                    chunk.append(wrap(xid, bid, m))
                    if len(chunk) >= 256:
                        self.send_many(chunk)
                        chunk = []
                        await self._writer.drain()
            except BaseException:
                # A message that failed to encode (or wrap): the switch must not keep a
                # half-filled bundle open; nobody waits for the discard's reply.
                if index:
                    with contextlib.suppress(Exception):
                        self.send_many([*chunk, M.bundle_control(
                            next_xid(), bid, M.OFPBCT_DISCARD_REQUEST)])
                raise
            barrier_xid = self.xid()
            futs.append(self._expect(barrier_xid))
            chunk.append(M.barrier_request(barrier_xid))
            self.send_many(chunk)
            await self._writer.drain()
            opened: BaseException | None = None
            try:
                reply = await asyncio.wait_for(futs[0], timeout)
                r = M.decode_bundle_control(reply[0])
                if r.type != M.OFPBCT_OPEN_REPLY or r.bundle_id != bid:
                    opened = OpenFlowError(f"unexpected bundle reply type {r.type} for "
                                           f"bundle {r.bundle_id}")
            except SwitchError as e:
                opened = e
            await asyncio.wait_for(futs[1], timeout)
        finally:
            self._pending.pop(open_xid, None)
            self._pending.pop(barrier_xid, None)
        errors, self._errors = self._errors, []
        if opened is not None:
            raise BundleError(f"bundle {bid}: not opened: {opened}", errors, [])
        if errors:
            with contextlib.suppress(OpenFlowError):
                await self._bundle_ctrl(bid, M.OFPBCT_DISCARD_REQUEST, M.OFPBCT_DISCARD_REPLY,
                                        timeout)
            raise BundleError(f"bundle {bid}: {len(errors)} message(s) refused", errors,
                              [index[e.xid] for e in errors if e.xid in index])
        try:
            await self._bundle_ctrl(bid, M.OFPBCT_COMMIT_REQUEST, M.OFPBCT_COMMIT_REPLY,
                                    timeout)
        except SwitchError as e:
            later = await self.barrier(timeout)
            errs = [e.error, *later]
            raise BundleError(f"bundle {bid}: commit failed", errs,
                              [index[x.xid] for x in errs if x.xid in index]) from e

    async def _bundle_ctrl(self, bid: int, ctrl: int, expect: int, timeout: float) -> None:
        reply = await self.request(M.bundle_control(self.xid(), bid, ctrl), timeout)
        r = M.decode_bundle_control(reply[0])
        if r.type != expect or r.bundle_id != bid:
            raise OpenFlowError(f"unexpected bundle reply type {r.type} for bundle {r.bundle_id}")

    async def next_packet_in(self, timeout: float = 10.0) -> PacketIn2:
        return await asyncio.wait_for(self.packet_ins.get(), timeout)
