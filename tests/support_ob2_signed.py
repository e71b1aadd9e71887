"""The official Open Badges 2.0 validator (the `openbadges` package ob-verify installs) on a
signed Assertion given as its JWS, offline like ob-verify.

ob-verify's validator hands python-jose 3.5 a pycryptodome key object, which that version no
longer parses ("Unable to parse an RSA_JWK from key"), so it fails every signed Assertion
before checking its signature. Here `jwk.construct` gets the same key as PEM: one line of
compatibility, the validator's checks themselves unchanged."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support_flows import OB_VERIFY

_SCRIPT = r"""
import json, re, sys
import responses
from jose import jwk
from openbadges import verify
from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT

_construct = jwk.construct
def construct(key_data, algorithm=None):
    if hasattr(key_data, "export_key"):  # a pycryptodome RsaKey: the PEM it holds
        key_data = key_data.export_key().decode()
    return _construct(key_data, algorithm)
jwk.construct = construct

jws_text, email = sys.argv[1], sys.argv[2]
with responses.RequestsMock(assert_all_requests_are_fired=False) as net:
    for ctx in ("https://w3id.org/openbadges/v2", "http://w3id.org/openbadges/v2",
                "https://purl.imsglobal.org/spec/ob/v2p0/context.json"):
        net.add(responses.GET, ctx, json=OPENBADGES_CONTEXT_V2_DICT,
                content_type="application/ld+json")
    net.add_passthru(re.compile(r"https?://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?/"))
    result = verify(jws_text, recipient_profile={"email": email})
report = result["report"]
print(json.dumps(report, indent=2))
sys.exit(0 if report.get("valid") and report.get("errorCount", 1) == 0 else 1)
"""


def _venv_python() -> Path:
    home = os.environ.get("OB_VERIFY_HOME") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ob-verify"
    )
    python = Path(home) / "venv" / "bin" / "python"
    if not python.exists():
        # ob-verify builds its validator's virtualenv on first use (then asks for a URL).
        subprocess.run([str(OB_VERIFY)], capture_output=True, timeout=600, check=False)
    return python


def ob_verify_signed(jws: str, email: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_venv_python()), "-", jws, email],
        input=_SCRIPT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
