"""lock / steal / unlock and the locked / stolen notifications, across clients."""

from __future__ import annotations

from .common import Case, Script


def _cases() -> list[Case]:
    cases: list[Case] = []

    def new(name: str, clients: int = 2) -> Script:
        # Locks outlive nothing but their connections; a fresh server keeps cases independent.
        return Script(f"lock-{name}", clients=clients, fresh=True)

    s = new("acquire-free", 1)
    s.call(0, "lock", "L")
    s.call(0, "unlock", "L")
    s.call(0, "lock", "L")
    cases.append(s.case())

    s = new("contended-then-released")
    s.call(0, "lock", "L")
    s.call(1, "lock", "L")
    s.call(0, "unlock", "L")
    s.recv(1)
    s.call(0, "lock", "L")
    s.call(1, "unlock", "L")
    s.recv(0)
    cases.append(s.case())

    s = new("steal")
    s.call(0, "lock", "L")
    s.call(1, "steal", "L")
    s.recv(0)
    s.tx({"op": "assert", "lock": "L"})
    s.tx({"op": "assert", "lock": "L"}, c=1)
    s.call(0, "unlock", "L")
    s.call(1, "unlock", "L")
    cases.append(s.case())

    s = new("steal-back")
    s.call(0, "lock", "L")
    s.call(1, "steal", "L")
    s.recv(0)
    s.call(0, "steal", "L")
    s.recv(1)
    cases.append(s.case())

    s = new("steal-free", 1)
    s.call(0, "steal", "L")
    s.call(0, "steal", "L")
    cases.append(s.case())

    s = new("steal-then-waiter", 3)
    s.call(0, "lock", "L")
    s.call(1, "lock", "L")
    s.call(2, "steal", "L")
    s.recv(0)
    s.recv(1)
    s.call(2, "unlock", "L")
    s.recv(1)
    s.recv(0)
    cases.append(s.case())

    s = new("waiter-queue-order", 3)
    s.call(0, "lock", "L")
    s.call(1, "lock", "L")
    s.call(2, "lock", "L")
    s.call(0, "unlock", "L")
    s.recv(1)
    s.recv(2)
    s.call(1, "unlock", "L")
    s.recv(2)
    cases.append(s.case())

    s = new("lock-twice-same-client", 1)
    s.call(0, "lock", "L")
    s.call(0, "lock", "L")
    s.call(0, "steal", "L")
    cases.append(s.case())

    s = new("unlock-not-held", 1)
    s.call(0, "unlock", "L")
    cases.append(s.case())

    s = new("unlock-while-waiting")
    s.call(0, "lock", "L")
    s.call(1, "lock", "L")
    s.call(1, "unlock", "L")
    s.call(0, "unlock", "L")
    s.recv(1)
    cases.append(s.case())

    s = new("release-on-disconnect")
    s.call(0, "lock", "L")
    s.call(1, "lock", "L")
    s.close(0)
    s.wait_method(1, "locked")
    s.tx({"op": "assert", "lock": "L"}, c=1)
    cases.append(s.case())

    s = new("multiple-locks", 1)
    s.call(0, "lock", "A")
    s.call(0, "lock", "B")
    s.tx({"op": "assert", "lock": "A"}, {"op": "assert", "lock": "B"})
    s.call(0, "unlock", "A")
    s.tx({"op": "assert", "lock": "A"})
    cases.append(s.case())

    s = new("bad-params", 1)
    for params in ([], [1], ["a", "b"], [None], [["L"]]):
        s.send(0, "lock", params)
        s.send(0, "steal", params)
        s.send(0, "unlock", params)
        s.recv(0)
    s.send(0, "lock", {"id": "L"})
    s.recv(0)
    cases.append(s.case())

    for n, name in enumerate(["", "a" * 500, "with space", "ünï", "0"]):
        s = new(f"name-{n}", 1)
        s.call(0, "lock", name)
        s.tx({"op": "assert", "lock": name})
        s.call(0, "unlock", name)
        cases.append(s.case())

    s = new("notification-form")
    s.send(0, "lock", ["L"], notify=True)
    s.recv(0)
    s.call(1, "lock", "L")
    s.send(0, "unlock", ["L"], notify=True)
    s.recv(0)
    s.recv(1)
    cases.append(s.case())
    return cases


CASES: list[Case] = _cases()
