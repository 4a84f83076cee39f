"""Machinery shared by `pyovn nbctl` and `pyovn sbctl`, after Open vSwitch's db-ctl-base:

- errors.py: CtlError, the one way a command fails (message, exit status 1);
- values.py: the "column:key=value" text syntax of values, and printing values back;
- options.py: the command line: global options, then commands separated by "--";
- command.py: Command, a small declared object per command, and the registry;
- context.py: what a running command sees: the replica, the transaction, rows by name;
- output.py: tables printed as table, list, csv, json, bare;
- dbcmds.py: the database commands (list, find, get, set, add, remove, clear, create,
  destroy, wait-until);
- runner.py: one batch of commands in one transaction, retried on "try again".

Imports are kept light here: a tool's start-up time is paid on every invocation.
"""
