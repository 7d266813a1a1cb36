import sys

from stapy.cli import main

sys.exit(main())
