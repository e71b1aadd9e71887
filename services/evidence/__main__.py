"""`python -m services.evidence serve|rebuild|checksum|verify`."""

from __future__ import annotations

import sys

from services.evidence.bootstrap import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
