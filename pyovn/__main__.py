from pyovn.cli.main import main

raise SystemExit(main())
