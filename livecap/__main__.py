import sys

from livecap.app.cli import main

sys.exit(main())
