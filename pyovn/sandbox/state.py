"""The state of a sandbox, kept as JSON in its directory so that ``stop``, ``shell`` and
``scenario`` work from another invocation: every pid, namespace, link and socket it made."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .proc import Daemon

STATE_FILE = "state.json"
MARKER = "pyovn-sandbox"
DEFAULT_DIR = "sandbox"


def sandbox_dir(arg: str | None = None) -> str:
    """--dir, else $PYOVN_SANDBOX_DIR, else ./sandbox; always absolute (sockets are named
    by path from inside namespaces and other invocations)."""
    return os.path.abspath(arg or os.environ.get("PYOVN_SANDBOX_DIR") or DEFAULT_DIR)


class StateError(RuntimeError):
    pass


@dataclass
class Host:
    """A VM, a container in a VM, or a host on a physical network: a namespace with one
    interface.  ``ovs_ports`` are (chassis index, port name) pairs added for it."""

    name: str
    kind: str  # "vm", "container", "external"
    netns: str
    iface: str
    ip: str | None
    chassis: int | None
    ovs_ports: list[tuple[int, str]] = field(default_factory=list)
    ovs_bridges: list[tuple[int, str]] = field(default_factory=list)
    listener: Daemon | None = None


@dataclass
class State:
    dir: str
    id: str
    status: str  # "starting", "running", "failed"
    stack: dict[str, str]
    dataplane: bool
    chassis: int
    nb: str = ""
    sb: str = ""
    daemons: list[Daemon] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)
    counter: int = 0  # for unique link names
    encaps: list[str] = field(default_factory=list)  # ovn-encap-type of hv1, hv2, ...
    marker: str = MARKER

    @property
    def path(self) -> str:
        return os.path.join(self.dir, STATE_FILE)

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(asdict(self), f, indent=1)
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, directory: str) -> State | None:
        path = os.path.join(directory, STATE_FILE)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                raw: Any = json.load(f)
            if not isinstance(raw, dict) or raw.get("marker") != MARKER:
                raise StateError(f"{path} is not a pyovn sandbox state file")
            raw["daemons"] = [Daemon(**d) for d in raw["daemons"]]
            hosts = []
            for h in raw["hosts"]:
                h["ovs_ports"] = [tuple(p) for p in h["ovs_ports"]]
                h["ovs_bridges"] = [tuple(p) for p in h["ovs_bridges"]]
                h["listener"] = Daemon(**h["listener"]) if h["listener"] else None
                hosts.append(Host(**h))
            raw["hosts"] = hosts
            return cls(**raw)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise StateError(f"cannot read sandbox state {path}: {e}") from e

    def alive(self) -> list[Daemon]:
        return [d for d in self.daemons if d.alive()]

    def daemon(self, name: str) -> Daemon | None:
        return next((d for d in self.daemons if d.name == name), None)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def ns(self, name: str) -> str:
        return f"pyovn-{self.id}-{name}"

    def link(self, tag: str) -> str:
        """A link name unique to this sandbox: "ps" + 5-hex id + tag, at most 15 bytes."""
        name = f"ps{self.id}{tag}"
        assert len(name) <= 15, name
        return name

    def encap(self, i: int) -> str:
        """Chassis hv<i>'s ovn-encap-type (Geneve for state files older than --encap)."""
        return self.encaps[i - 1] if i <= len(self.encaps) else "geneve"

    def hv_dir(self, i: int) -> str:
        return os.path.join(self.dir, f"hv{i}")
