"""The sandbox: a whole OVN deployment on one machine.

Databases, northd, several chassis (each its own Open vSwitch and controller inside a network
namespace, Geneve or VXLAN between them over a veth underlay) and VMs as namespaces; with a scenario
harness that runs the same topology and connectivity checks on the real OVN, on pyovn and on
mixes of the two.  Kept import-light: ``probe.py`` runs inside VM namespaces as a plain script.
"""
