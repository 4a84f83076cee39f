"""A private Open vSwitch for tests and benches: its own ovsdb-server and ovs-vswitchd in a
temp dir, a netdev bridge br-int with fail-mode=secure.  Stops only the processes it
started (by pid) and removes the temp dir; it creates no kernel ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

VS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
_counter = 0


def available() -> bool:
    return all(shutil.which(b) for b in ("ovsdb-server", "ovs-vswitchd", "ovs-vsctl",
                                         "ovsdb-tool", "ovs-ofctl")) and os.path.exists(VS_SCHEMA)


class OvsSandbox:
    def __init__(self, bridge: str = "br-int") -> None:
        global _counter
        _counter += 1
        self.bridge = bridge
        self.dir = Path(tempfile.mkdtemp(prefix=f"pyovn-of-{os.getpid()}-{_counter}-"))
        self.db_sock = self.dir / "db.sock"
        self.pids: list[int] = []

    @property
    def mgmt(self) -> str:
        return f"unix:{self.dir / (self.bridge + '.mgmt')}"

    def _run(self, *args: str) -> str:
        env = dict(os.environ, OVS_RUNDIR=str(self.dir), OVS_DBDIR=str(self.dir),
                   OVS_LOGDIR=str(self.dir))
        r = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=60)
        if r.returncode:
            raise RuntimeError(f"{' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def _wait_pid(self, pidfile: Path) -> None:
        deadline = time.monotonic() + 20
        while not pidfile.exists() or not pidfile.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pidfile} never appeared")
            time.sleep(0.02)
        self.pids.append(int(pidfile.read_text().strip()))

    def start(self) -> OvsSandbox:
        d = self.dir
        try:
            self._run("ovsdb-tool", "create", str(d / "conf.db"), VS_SCHEMA)
            self._run("ovsdb-server", f"--remote=punix:{self.db_sock}",
                      f"--pidfile={d / 'ovsdb-server.pid'}", f"--unixctl={d / 'ovsdb.ctl'}",
                      f"--log-file={d / 'ovsdb-server.log'}", "--detach", str(d / "conf.db"))
            self._wait_pid(d / "ovsdb-server.pid")
            self.vsctl("--no-wait", "init")
            self._run("ovs-vswitchd", f"unix:{self.db_sock}",
                      f"--pidfile={d / 'ovs-vswitchd.pid'}", f"--unixctl={d / 'vswitchd.ctl'}",
                      f"--log-file={d / 'ovs-vswitchd.log'}", "--detach")
            self._wait_pid(d / "ovs-vswitchd.pid")
            self.vsctl("add-br", self.bridge, "--", "set", "bridge", self.bridge,
                       "datapath_type=netdev", "fail-mode=secure")
            deadline = time.monotonic() + 20
            while not (d / f"{self.bridge}.mgmt").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("bridge management socket never appeared")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise
        return self

    def vsctl(self, *args: str) -> str:
        return self._run("ovs-vsctl", f"--db=unix:{self.db_sock}", "--timeout=30", *args)

    def ofctl(self, *args: str) -> str:
        return self._run("ovs-ofctl", "-O", "OpenFlow15", *args)

    def dump_flows(self, *args: str) -> list[str]:
        out = self.ofctl("dump-flows", self.mgmt, *args)
        return [ln.strip() for ln in out.splitlines()[1:] if ln.strip()]

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.pids.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> OvsSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
