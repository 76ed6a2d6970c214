"""`python -m facereact.cli`: the same as the `facereact` command."""
import sys

from facereact.cli import main

sys.exit(main())
