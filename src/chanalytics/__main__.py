from chanalytics.cli import main

raise SystemExit(main())
