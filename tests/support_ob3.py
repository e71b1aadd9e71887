"""Open Badges 3.0 checks the tests share: the two independent verifier stacks (run offline
by tests/verifiers/verify.mjs, installed by deploy/local/install.sh), fed the platform's DID
documents and status lists as static documents."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from services.local_runner import REPO

VERIFIERS = REPO / "tests" / "verifiers"


def did_web_url(did: str) -> str:
    """Where did:web resolution fetches a DID's document (always https)."""
    host, *path = [unquote(part) for part in did.removeprefix("did:web:").split(":")]
    return f"https://{host}/{'/'.join(path) if path else '.well-known'}/did.json"


def independent_verify(
    credentials: list[dict[str, Any]], documents: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each credential's result from the DCC's verifier-core and from Digital Bazaar's vc
    stack: {"dcc": {"verified", "errors", "log"}, "digitalbazaar": {"verified", "error",
    "status"}}. Nothing is fetched: `documents` are all they can load."""
    if not (VERIFIERS / "node_modules" / "@digitalcredentials" / "verifier-core").exists():
        raise AssertionError(
            "the independent verifiers are not installed: run bash deploy/local/install.sh"
        )
    done = subprocess.run(
        ["node", str(VERIFIERS / "verify.mjs")],
        input=json.dumps({"credentials": credentials, "documents": documents}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


async def public_documents(
    http: httpx.AsyncClient, badge_url: str, issuer_ids: list[str]
) -> dict[str, Any]:
    """The issuers' DID documents (at their did:web addresses) and status lists, as served."""
    documents: dict[str, Any] = {}
    for issuer_id in issuer_ids:
        did_document = (await http.get(f"{badge_url}/ob/issuers/{issuer_id}/did.json")).json()
        documents[did_web_url(did_document["id"])] = did_document
        status_url = f"{badge_url}/ob/issuers/{issuer_id}/status-list"
        documents[status_url] = (await http.get(status_url)).json()
    return documents


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2))
