"""`python -m services.notifier serve|rebuild|checksum|verify|resend-failed` (see bootstrap)."""

from __future__ import annotations

import sys

from services.notifier.bootstrap import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
