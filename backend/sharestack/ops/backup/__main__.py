from sharestack.ops.backup.cli import main

raise SystemExit(main())
