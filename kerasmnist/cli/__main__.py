"""`python -m kerasmnist.cli`: the `kerasmnist` command."""

import sys

from kerasmnist.cli import main

sys.exit(main())
