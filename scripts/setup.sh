#!/usr/bin/env bash
# Installs everything pyovn needs on a fresh Debian machine: the real OVN and Open vSwitch
# (reference implementation and data plane), a virtualenv at .venv/ and the pinned pip packages.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# busybox: udhcpc, the DHCP client inside the sandbox's VMs.
APT_PKGS="openvswitch-switch ovn-central ovn-host iproute2 iputils-ping ethtool bc busybox python3-venv"
missing=""
for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing apt packages:$missing"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.pyovn-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing pip packages into .venv"
    # (This machine's pip config names local mirrors that may be absent: drop that noise.)
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    touch "$stamp"
fi
echo "setup: ready (.venv/bin/pyovn)"
