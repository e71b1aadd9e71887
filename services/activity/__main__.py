"""`python -m services.activity serve|rebuild|checksum|verify|bootstrap|organisers|keys|
revoke-key|issue-key|remove-organiser|make-admin`."""

from __future__ import annotations

import sys

from services.activity.app import run

if __name__ == "__main__":
    sys.exit(run())
