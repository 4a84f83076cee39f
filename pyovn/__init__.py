"""pyovn: OVN, the Open Virtual Network, written in Python."""

__version__ = "0.1.0"
