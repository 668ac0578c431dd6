"""``python -m looplift``: the command line (see ``looplift.cli.main``)."""
from looplift.cli.main import main

raise SystemExit(main())
