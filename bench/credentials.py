"""Benchmark of Open Badges 3.0 signing: credentials signed per second (safe-mode expansion,
RDFC-1.0 canonicalisation of the document and the proof options, SHA-256, Ed25519) and
verification latency p50/p99, next to a bare `cryptography` Ed25519 sign loop over the same
canonical bytes in the same run; the ratio is what canonicalisation costs.

    uv run python -m bench.credentials [--count 300]

Pure CPU, in this process: no platform is needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from contracts.badge import BlobRef, EvidenceItem
from services.badge.adapters import data_integrity
from services.badge.adapters.credential_signing import CredentialSigner, methods_of
from services.badge.adapters.issuer_keys import IssuerKeys
from services.badge.domain import credentials as ob3
from services.badge.domain.model import BadgeClass


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    count = parser.parse_args().count

    issuer_id = uuid.uuid4()
    signer = CredentialSigner(
        ob3.CredentialUrls("https://badges.example.org"),
        IssuerKeys(("a benchmark operator secret of enough length",)),
    )
    public, secret_id = signer.new_public_key(issuer_id, 1)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    key = ob3.IssuerKey(issuer_id, 1, public, secret_id, now)
    issuer = ob3.Issuer(
        issuer_id, "Riverside Youth Centre", "https://riverside.example.org", "b@r.org"
    )
    badge = BadgeClass(
        badge_class_id=uuid.uuid4(),
        issuer_id=issuer_id,
        source_kind="activity",
        source_id=uuid.uuid4(),
        name="Urban gardening",
        description="Grow food in the city",
        criteria_narrative="Plant three seeds and keep them growing for a month",
        image=BlobRef(sha256="0" * 64, size=100, media_type="image/png"),
        required_activity_ids=(),
        created_at=now,
        updated_at=now,
    )
    documents = [
        ob3.open_badge_credential(
            signer.urls,
            assertion_id=uuid.uuid4(),
            issuer=issuer,
            badge=badge,
            recipient_email=f"learner{n}@example.org",
            recipient_salt=uuid.uuid4().hex,
            issued_on=now + timedelta(seconds=n),
            expires=now + timedelta(days=365),
            evidence=[EvidenceItem(narrative="Photos", url=f"https://e.example/evidence/{n}")],
            status_index=n,
        )
        for n in range(count)
    ]

    started, cpu = time.perf_counter(), time.process_time()
    signed = [signer.sign(document, key, now) for document in documents]
    signing_seconds = time.perf_counter() - started
    signing_cpu = time.process_time() - cpu

    # The bare baseline: Ed25519 over the very bytes the suite signs (both hashes, from the
    # canonical forms computed once, outside the timing).
    private = signer.keys.private_key(issuer_id, 1, secret_id)
    method = signer.urls.verification_method(issuer_id, 1)
    options = data_integrity.proof_options(method, now)
    payloads = []
    for document in documents:
        proof_config = {**options, "@context": document["@context"]}
        payloads.append(
            hashlib.sha256(data_integrity.canonical_nquads(proof_config).encode()).digest()
            + hashlib.sha256(data_integrity.canonical_nquads(document).encode()).digest()
        )
    started, cpu = time.perf_counter(), time.process_time()
    for payload in payloads:
        private.sign(payload)
    bare_seconds = time.perf_counter() - started
    bare_cpu = time.process_time() - cpu

    resolve = methods_of(ob3.did_document(signer.urls, issuer_id, [key]))
    latencies = []
    for text in signed:
        started = time.perf_counter()
        data_integrity.verify(json.loads(text), resolve)
        latencies.append((time.perf_counter() - started) * 1000)

    # Wall clock and this process's CPU time: on a shared machine the second is the fairer.
    full, bare = count / signing_seconds, count / bare_seconds
    full_cpu, bare_cpu_rate = count / signing_cpu, count / max(bare_cpu, 1e-9)
    print(
        f"credentials signed (eddsa-rdfc-2022, safe mode): {full:,.1f}/s wall, "
        f"{full_cpu:,.1f}/s of CPU ({count})"
    )
    print(
        f"bare Ed25519 sign over the same bytes: {bare:,.1f}/s wall, {bare_cpu_rate:,.1f}/s of CPU"
    )
    print(f"ratio bare / full: {bare / full:,.0f}x wall, {bare_cpu_rate / full_cpu:,.0f}x CPU")
    print(
        f"verification latency: p50 {percentile(latencies, 0.5):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms (wall)"
    )


if __name__ == "__main__":
    main()
