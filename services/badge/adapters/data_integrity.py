"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite: JSON-LD documents are
canonicalised (RDFC-1.0) with contexts shipped in this package, never fetched, and every
term must be defined by them (JSON-LD "safe mode": a term that would be dropped, or that only
the VC context's catch-all `@vocab` defines, is refused before anything is signed).

The proof follows the W3C Data Integrity EdDSA Cryptosuites v1.0, section 3.3: the SHA-256 of
the canonical proof options, then the SHA-256 of the canonical document, signed with Ed25519;
`proofValue` is the signature in multibase base58btc.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyld import jsonld  # type: ignore[import-untyped]

CRYPTOSUITE = "eddsa-rdfc-2022"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
# The VC v2 context maps every term it does not know here: a term only it defines is one no
# context defines, which safe-mode verifiers refuse.
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/issuer-dependent#"

_CONTEXT_DIR = Path(__file__).parent / "contexts"
CONTEXT_FILES: dict[str, str] = {
    VC_V2: "credentials-v2.jsonld",
    DID_V1: "did-v1.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.0.json": "ob-context-3.0.0.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-context-3.0.2.json",
    OB_V3: "ob-context-3.0.3.json",
}


class UnsafeDocument(ValueError):
    """The document holds what its contexts do not define: signing it would leave it out."""


class ProofInvalid(ValueError):
    """The proof does not verify; the message says why."""


def _load_contexts() -> dict[str, dict[str, Any]]:
    return {
        url: json.loads((_CONTEXT_DIR / name).read_text(encoding="utf-8"))
        for url, name in CONTEXT_FILES.items()
    }


_CONTEXTS = _load_contexts()


def shipped_context(url: str) -> dict[str, Any]:
    return _CONTEXTS[url]


def _loader(refused: list[str]) -> Callable[..., dict[str, Any]]:
    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Only the contexts shipped with the project; anything else is refused, never
        fetched."""
        document = _CONTEXTS.get(url)
        if document is None:
            refused.append(url)
            raise jsonld.JsonLdError(
                f"context {url} is not shipped with the badge service",
                "jsonld.LoadDocumentError",
                {"url": url},
                code="loading document failed",
            )
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}

    return load


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _is_absolute(iri: str) -> bool:
    """A blank node or an IRI with a scheme (RFC 3986); anything else is relative."""
    return iri.startswith("_:") or _SCHEME.match(iri) is not None


def _problems(expanded: Any, path: str = "") -> Iterator[str]:
    """What the expanded form shows safe mode would refuse: relative or undefined types and
    ids, and properties that fell to the catch-all vocabulary."""
    if isinstance(expanded, list):
        for index, item in enumerate(expanded):
            yield from _problems(item, f"{path}[{index}]")
        return
    if not isinstance(expanded, dict):
        return
    for key, value in expanded.items():
        if key == "@type" and "@value" not in expanded:
            for kind in value if isinstance(value, list) else [value]:
                if not _is_absolute(kind):
                    yield f"{path}: type {kind!r} is not defined by any context"
                elif kind.startswith(UNDEFINED_TERMS):
                    yield f"{path}: type {kind.removeprefix(UNDEFINED_TERMS)!r} is undefined"
        elif key == "@id":
            if not _is_absolute(value):
                yield f"{path}: id {value!r} is not an absolute IRI"
        elif key.startswith(UNDEFINED_TERMS):
            yield f"{path}: term {key.removeprefix(UNDEFINED_TERMS)!r} is not defined"
        elif not key.startswith("@"):
            yield from _problems(value, f"{path}/{key}")
        elif key in ("@graph", "@list", "@set", "@included", "@reverse"):
            yield from _problems(value, path)


def canonical_nquads(document: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, refusing anything its contexts leave
    undefined (`UnsafeDocument`)."""
    dropped: list[str] = []
    refused: list[str] = []
    options: dict[str, Any] = {"documentLoader": _loader(refused), "base": None}
    try:
        expanded = jsonld.expand(
            copy.deepcopy(document),
            options,
            on_property_dropped=lambda term: dropped.append(str(term)),
        )
    except jsonld.JsonLdError as error:
        if refused:
            raise UnsafeDocument(
                f"context {refused[0]} is not shipped with the service; it is never fetched"
            ) from error
        raise UnsafeDocument(f"not valid JSON-LD with the shipped contexts: {error}") from error
    problems = [f"term {term!r} would be dropped" for term in dropped]
    problems += list(_problems(expanded))
    if problems:
        raise UnsafeDocument("; ".join(problems))
    canonical = jsonld.normalize(
        expanded,
        {**options, "algorithm": "URDNA2015", "format": "application/n-quads"},
    )
    return cast(str, canonical)


# base58btc (the Bitcoin alphabet), for multibase `z` values.
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, varint


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _ALPHABET[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def from_base58btc(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _ALPHABET.find(char)
        if digit < 0:
            raise ValueError(f"{char!r} is not base58btc")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def public_key_multibase(key: Ed25519PublicKey) -> str:
    """The key as a Multikey `publicKeyMultibase`: z + base58btc(0xed01 + 32 bytes)."""
    return "z" + base58btc(_ED25519_PUB + key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise ValueError("a Multikey public key is base58btc multibase (starts with z)")
    raw = from_base58btc(value[1:])
    if not raw.startswith(_ED25519_PUB) or len(raw) != 34:
        raise ValueError("not an Ed25519 Multikey public key")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def time_text(value: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC to the second, as proofs and credentials carry it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    """eddsa-rdfc-2022 hashing: the proof options, with the document's context, then the
    document without its proof."""
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof_options.items() if key != "proofValue"}
    options["@context"] = document["@context"]
    proof_hash = hashlib.sha256(canonical_nquads(options).encode()).digest()
    document_hash = hashlib.sha256(canonical_nquads(unsecured).encode()).digest()
    return proof_hash + document_hash


def proof_options(verification_method: str, created: datetime) -> dict[str, Any]:
    return {
        "type": "DataIntegrityProof",
        "created": time_text(created),
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": "assertionMethod",
    }


def sign(
    document: dict[str, Any],
    key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """The document with its `proof`. Deterministic: Ed25519 signatures are, and `created` is
    given, so the same document, key and time always make the same bytes."""
    options = proof_options(verification_method, created)
    signature = key.sign(_hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + base58btc(signature)}}


@dataclass(frozen=True)
class VerificationMethod:
    """A public key as a verifier sees it in its controller's document."""

    id: str
    controller: str
    public_key: Ed25519PublicKey
    revoked: datetime | None = None


ResolveMethod = Callable[[str], VerificationMethod | None]


def verify(document: dict[str, Any], resolve: ResolveMethod) -> VerificationMethod:
    """Check the document's one `eddsa-rdfc-2022` proof; raises `ProofInvalid` with the reason.
    A key revoked (compromised) at a time verifies nothing it signed from that time on."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise ProofInvalid("the document has no proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofInvalid("the proof is not a DataIntegrityProof with eddsa-rdfc-2022")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofInvalid("the proof's purpose is not assertionMethod")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofInvalid("the proofValue is not base58btc multibase")
    method = resolve(str(proof.get("verificationMethod")))
    if method is None:
        raise ProofInvalid("the verification method is not an assertion method of its issuer")
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id is not None and issuer_id != method.controller:
        raise ProofInvalid("the key's controller is not the credential's issuer")
    if method.revoked is not None:
        created = datetime.fromisoformat(str(proof.get("created")).replace("Z", "+00:00"))
        if created >= method.revoked:
            raise ProofInvalid("signed with a key revoked as compromised before it signed this")
    try:
        signature = from_base58btc(value[1:])
        method.public_key.verify(signature, _hash_data(document, proof))
    except UnsafeDocument as error:
        raise ProofInvalid(str(error)) from error
    except (InvalidSignature, ValueError) as error:
        raise ProofInvalid("the signature does not match the document") from error
    return method
