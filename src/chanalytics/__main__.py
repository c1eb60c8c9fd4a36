from chanalytics.cli.main import main

raise SystemExit(main())
