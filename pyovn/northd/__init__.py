"""northd: the NB -> SB compiler (ovn-northd(8)), as a pure translation plus an incremental
engine around it.

- nb.py: a read-only view of the NB rows northd reads, recording what each computation read;
- addresses.py: Ethernet/IP address parsing of LSP "addresses" and LRP "networks";
- stages.py: pipeline stages (names and table numbers of OVN 23.03) and the LFlow record;
- ls_*.py / lr_*.py: one module per group of logical switch / router stages;
- units.py: NB is translated in independent units (one per switch, router, port group...);
- translate.py: the full translation, `translate(nb, keys) -> SbDesired`;
- engine.py: a small inc-proc engine (named nodes, inputs, change handlers, statistics);
- incremental.py: northd's engine graph over units;
- sync.py: writes the difference between desired and current SB;
- main.py: the daemon.
"""
