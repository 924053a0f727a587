import sys

from livecap.cli import main

sys.exit(main())
