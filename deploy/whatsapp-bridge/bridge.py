#!/usr/bin/env python3
"""Same as `python -m whatsapp_bridge` (run from any directory)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from whatsapp_bridge.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
