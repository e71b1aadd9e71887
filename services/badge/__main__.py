"""`python -m services.badge serve|rebuild|checksum|verify`."""

from __future__ import annotations

import sys

from contracts.tokens import ClaimTokenSettings
from services.badge.app import build_runtime, build_web
from services.badge.settings import BadgeSettings
from services.kernel.entrypoint import main
from services.kernel.settings import KernelSettings


def run() -> int:
    kernel, badge = KernelSettings(), BadgeSettings()
    return main(
        lambda: build_runtime(kernel, badge),
        # Token secrets are needed only to serve: `rebuild` and `checksum` run without them.
        lambda runtime: build_web(runtime, badge, ClaimTokenSettings()),
        lambda: (badge.http_host, badge.http_port),
    )


if __name__ == "__main__":
    sys.exit(run())
