"""The chassis agent (ovn-controller): a pure core that turns this chassis' state and the
SB rows that concern it into the OpenFlow table of br-int (flows.py, with binding.py,
physical.py, lflow.py, mac_binding.py, ct_zones.py), and a thin asyncio daemon around it
(daemon.py, main.py; packet-in services in pinctrl*.py)."""
