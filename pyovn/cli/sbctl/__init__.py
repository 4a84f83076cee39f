"""`pyovn sbctl`: ovn-sbctl's commands, options and output against any OVN_Southbound server:
show, chassis-add/del, lflow-list and the database commands."""
