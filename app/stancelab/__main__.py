import sys

from stancelab.cli import main

sys.exit(main())
