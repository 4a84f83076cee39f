"""`pyovn nbctl`: ovn-nbctl's commands, options and output, against any OVN_Northbound server.

One module per feature (switch, port, acl, port_group, router, route, nat, lb, dhcp,
connection, show), each a list of small Command classes; main.py binds them to the shared
machinery in pyovn.cli.ctl.
"""
