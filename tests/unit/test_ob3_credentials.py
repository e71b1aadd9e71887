"""Open Badges 3.0 signing, pure: the 1EdTech test vector, safe-mode canonicalisation, issuer
keys from the operator's secret, the credential, its status list, key compromise, baking."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.badge import STATUS_LIST_SIZE, BlobRef, EvidenceItem
from services.badge.adapters import credential_baking, data_integrity
from services.badge.adapters.credential_signing import CredentialSigner, methods_of
from services.badge.adapters.issuer_keys import IssuerKeys, MissingIssuerKeySecret
from services.badge.domain import credentials as ob3
from services.badge.domain.model import BadgeClass

VECTORS = Path(__file__).parent / "ob3_vectors"
SECRET = "an operator secret of at least thirty-two characters"
ISSUER_ID = uuid.UUID("3f1c2b9e-5d7a-4c8e-9b1f-0a2d3e4f5a6b")
BADGE_ID = uuid.UUID("7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d")
AWARDED = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def vector() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "signed-credential.json").read_text())
    return data


def vector_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector()["private_key_hex"])[:32])


def vector_methods() -> data_integrity.ResolveMethod:
    data = vector()
    issuer = data["signed_credential"]["issuer"]["id"]
    return methods_of(
        {
            "id": issuer,
            "verificationMethod": [
                {
                    "id": data["verification_method"],
                    "type": "Multikey",
                    "controller": issuer,
                    "publicKeyMultibase": data["public_key_multibase"],
                }
            ],
            "assertionMethod": [data["verification_method"]],
        }
    )


def test_the_test_vector_canonicalises_as_published() -> None:
    signed = vector()["signed_credential"]
    document = {key: value for key, value in signed.items() if key != "proof"}
    assert data_integrity.canonical_nquads(document) == (VECTORS / "document-canon.txt").read_text()
    options = {key: value for key, value in signed["proof"].items() if key != "proofValue"}
    options["@context"] = signed["@context"]
    assert data_integrity.canonical_nquads(options) == (VECTORS / "proof-canon.txt").read_text()


def test_the_signer_reproduces_the_test_vectors_proof_byte_for_byte() -> None:
    data = vector()
    signed = data["signed_credential"]
    key = vector_key()
    assert data_integrity.public_key_multibase(key.public_key()) == data["public_key_multibase"]
    document = {key: value for key, value in signed.items() if key != "proof"}
    created = datetime.fromisoformat(signed["proof"]["created"].replace("Z", "+00:00"))
    ours = data_integrity.sign(document, key, data["verification_method"], created)
    assert ours["proof"] == signed["proof"]
    assert json.dumps(ours, sort_keys=True) == json.dumps(signed, sort_keys=True)


def test_the_verifier_accepts_the_test_vector_and_refuses_one_changed_byte() -> None:
    signed = vector()["signed_credential"]
    data_integrity.verify(signed, vector_methods())
    text = json.dumps(signed)
    changed = json.loads(text.replace("Teamwork Badge", "Teamwork Badgf"))
    with pytest.raises(data_integrity.ProofInvalid, match="signature"):
        data_integrity.verify(changed, vector_methods())
    forged = json.loads(text)
    forged["proof"]["proofValue"] = forged["proof"]["proofValue"][:-2] + "zz"
    with pytest.raises(data_integrity.ProofInvalid):
        data_integrity.verify(forged, vector_methods())


def test_safe_mode_refuses_a_term_no_context_defines() -> None:
    document = {key: v for key, v in vector()["signed_credential"].items() if key != "proof"}
    with pytest.raises(data_integrity.UnsafeDocument, match="colour"):
        data_integrity.canonical_nquads({**document, "colour": "blue"})
    subject = {**document["credentialSubject"], "type": ["AchievementSubject", "Learner"]}
    with pytest.raises(data_integrity.UnsafeDocument, match="Learner"):
        data_integrity.canonical_nquads({**document, "credentialSubject": subject})
    with pytest.raises(data_integrity.UnsafeDocument, match="id"):
        data_integrity.canonical_nquads({**document, "id": "credentials/3527"})


def test_contexts_are_never_fetched() -> None:
    document = {"@context": ["https://example.org/unknown-context.json"], "name": "x"}
    with pytest.raises(data_integrity.UnsafeDocument, match="never fetched"):
        data_integrity.canonical_nquads(document)


def test_issuer_keys_follow_from_the_secret_alone() -> None:
    keys, again = IssuerKeys((SECRET,)), IssuerKeys((SECRET,))
    secret_id = keys.current_secret_id
    first = keys.private_key(ISSUER_ID, 1, secret_id)
    assert (
        first.private_bytes_raw() == again.private_key(ISSUER_ID, 1, secret_id).private_bytes_raw()
    )
    assert (
        first.private_bytes_raw() != keys.private_key(ISSUER_ID, 2, secret_id).private_bytes_raw()
    )
    other = keys.private_key(uuid.uuid4(), 1, secret_id)
    assert first.private_bytes_raw() != other.private_bytes_raw()
    rotated = IssuerKeys(("a newer operator secret, also long enough", SECRET))
    assert rotated.current_secret_id != secret_id
    assert rotated.private_key(ISSUER_ID, 1, secret_id).private_bytes_raw() == (
        first.private_bytes_raw()
    )
    with pytest.raises(MissingIssuerKeySecret, match="restore"):
        IssuerKeys(("yet another secret that is long enough",)).private_key(ISSUER_ID, 1, secret_id)
    with pytest.raises(ValueError, match="32"):
        IssuerKeys(("short",))
    assert SECRET not in secret_id


def badge(**changes: Any) -> BadgeClass:
    fields: dict[str, Any] = {
        "badge_class_id": BADGE_ID,
        "issuer_id": ISSUER_ID,
        "source_kind": "activity",
        "source_id": uuid.uuid4(),
        "name": "Urban gardening",
        "description": "Grow food in the city",
        "criteria_narrative": "Plant three seeds",
        "image": BlobRef(sha256="0" * 64, size=10, media_type="image/png"),
        "required_activity_ids": (),
        "created_at": AWARDED,
        "updated_at": AWARDED,
    }
    return BadgeClass(**{**fields, **changes})


ISSUER = ob3.Issuer(ISSUER_ID, "Riverside Youth Centre", "https://riverside.example.org", "b@r.org")


def signed_credential(
    signer: CredentialSigner, key: ob3.IssuerKey, *, expires: datetime | None = None
) -> dict[str, Any]:
    document = ob3.open_badge_credential(
        signer.urls,
        assertion_id=uuid.UUID("11111111-2222-4333-8444-555555555555"),
        issuer=ISSUER,
        badge=badge(),
        recipient_email=" Ana@Example.org ",
        recipient_salt="0123456789abcdef0123",
        issued_on=AWARDED,
        expires=expires,
        evidence=[EvidenceItem(narrative="Three photos", url="https://e.example/evidence/q1")],
        status_index=90_210,
    )
    return dict(json.loads(signer.sign(document, key, AWARDED)))


def issuer_key(signer: CredentialSigner, generation: int, **changes: Any) -> ob3.IssuerKey:
    public, secret_id = signer.new_public_key(ISSUER_ID, generation)
    return ob3.IssuerKey(ISSUER_ID, generation, public, secret_id, AWARDED, **changes)


def test_an_award_is_an_open_badge_credential_that_verifies_with_the_did_document() -> None:
    signer = CredentialSigner(ob3.CredentialUrls("http://127.0.0.1:8002"), IssuerKeys((SECRET,)))
    key = issuer_key(signer, 1)
    credential = signed_credential(signer, key, expires=AWARDED + timedelta(days=365))
    assert credential["@context"] == [ob3.VC_V2, ob3.OB_V3]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == f"did:web:127.0.0.1%3A8002:ob:issuers:{ISSUER_ID}"
    assert credential["issuer"]["type"] == ["Profile"]
    assert credential["validFrom"] == "2026-11-30T09:15:00Z"
    assert credential["validUntil"] == "2027-11-30T09:15:00Z"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    identity = subject["identifier"][0]
    assert identity["identityHash"].startswith("sha256$") and identity["hashed"] is True
    assert "ana@example.org" not in json.dumps(credential).lower()
    assert subject["achievement"]["achievementType"] == "Badge"
    assert subject["achievement"]["criteria"] == {"narrative": "Plant three seeds"}
    assert credential["evidence"][0]["id"] == "https://e.example/evidence/q1"
    assert credential["credentialStatus"]["statusListIndex"] == "90210"
    assert credential["proof"]["verificationMethod"].endswith("#key-1")
    did_document = ob3.did_document(signer.urls, ISSUER_ID, [key])
    assert did_document["verificationMethod"][0]["type"] == "Multikey"
    method = data_integrity.verify(credential, methods_of(did_document))
    assert method.id == credential["proof"]["verificationMethod"]
    # Signed twice, the same bytes: a rebuild signs what was signed.
    assert signed_credential(signer, key, expires=AWARDED + timedelta(days=365)) == credential
    tampered = json.loads(json.dumps(credential).replace("Plant three", "Plant four"))
    with pytest.raises(data_integrity.ProofInvalid):
        data_integrity.verify(tampered, methods_of(did_document))


def test_did_web_names_follow_the_public_url() -> None:
    urls = ob3.CredentialUrls("https://badges.example.org/platform/")
    assert urls.did(ISSUER_ID) == f"did:web:badges.example.org:platform:ob:issuers:{ISSUER_ID}"
    # did:web resolution: colons become slashes, then /did.json
    assert urls.did_document(ISSUER_ID) == (
        f"https://badges.example.org/platform/ob/issuers/{ISSUER_ID}/did.json"
    )


def test_rotation_keeps_old_keys_and_compromise_refuses_what_was_signed_after_it() -> None:
    signer = CredentialSigner(ob3.CredentialUrls("http://127.0.0.1:8002"), IssuerKeys((SECRET,)))
    first = issuer_key(signer, 1)
    before = signed_credential(signer, first)
    second = issuer_key(signer, 2)
    rotated = ob3.did_document(signer.urls, ISSUER_ID, [first, second])
    assert rotated["assertionMethod"] == [
        signer.urls.verification_method(ISSUER_ID, 1),
        signer.urls.verification_method(ISSUER_ID, 2),
    ]
    data_integrity.verify(before, methods_of(rotated))
    # Compromised: still listed, with `revoked`, but no assertion method any more, so no
    # proof by it verifies whatever `created` it claims (the platform signs again what the
    # key signed before, with the current key).
    compromised = replace_key(first, compromised_since=AWARDED + timedelta(hours=1))
    published = ob3.did_document(signer.urls, ISSUER_ID, [compromised, second])
    assert published["verificationMethod"][0]["revoked"] == "2026-11-30T10:15:00Z"
    assert published["assertionMethod"] == [signer.urls.verification_method(ISSUER_ID, 2)]
    with pytest.raises(data_integrity.ProofInvalid, match="assertion method"):
        data_integrity.verify(before, methods_of(published))
    assert ob3.signed_before(json.dumps(before), AWARDED + timedelta(hours=1))
    assert not ob3.signed_before(json.dumps(before), AWARDED)
    resigned = json.loads(
        signer.sign({k: v for k, v in before.items() if k != "proof"}, second, AWARDED)
    )
    data_integrity.verify(resigned, methods_of(published))
    # A verification method revoked from before a proof's time refuses it too.
    vm = methods_of(ob3.did_document(signer.urls, ISSUER_ID, [first]))(
        signer.urls.verification_method(ISSUER_ID, 1)
    )
    assert vm is not None
    from dataclasses import replace

    revoked_vm = replace(vm, revoked=AWARDED - timedelta(hours=1))
    with pytest.raises(data_integrity.ProofInvalid, match="compromised"):
        data_integrity.verify(before, {vm.id: revoked_vm}.get)
    # A key the document does not list verifies nothing.
    with pytest.raises(data_integrity.ProofInvalid, match="assertion method"):
        data_integrity.verify(
            before, methods_of(ob3.did_document(signer.urls, ISSUER_ID, [second]))
        )


def replace_key(key: ob3.IssuerKey, **changes: Any) -> ob3.IssuerKey:
    from dataclasses import replace

    return replace(key, **changes)


def test_the_status_list_has_131072_entries_and_flips_only_revoked_bits() -> None:
    empty = ob3.decode_list(ob3.encoded_list([]))
    assert len(empty) * 8 == STATUS_LIST_SIZE == 131_072
    bits = ob3.decode_list(ob3.encoded_list([0, 90_210, STATUS_LIST_SIZE - 1]))
    assert ob3.bit_is_set(bits, 0) and ob3.bit_is_set(bits, 90_210)
    assert ob3.bit_is_set(bits, STATUS_LIST_SIZE - 1)
    assert not ob3.bit_is_set(bits, 1) and not ob3.bit_is_set(bits, 90_211)
    assert bits[0] == 0x80  # index 0 is the first byte's highest bit
    assert ob3.encoded_list([5, 9]) == ob3.encoded_list([9, 5])
    signer = CredentialSigner(ob3.CredentialUrls("http://127.0.0.1:8002"), IssuerKeys((SECRET,)))
    key = issuer_key(signer, 1)
    document = ob3.status_list_credential(signer.urls, ISSUER_ID, [90_210], AWARDED)
    status_list = json.loads(signer.sign(document, key, AWARDED))
    data_integrity.verify(status_list, methods_of(ob3.did_document(signer.urls, ISSUER_ID, [key])))


def test_status_indexes_are_spread_and_the_same_on_every_decision() -> None:
    index_key = IssuerKeys((SECRET,)).status_index_key(ISSUER_ID)
    awards = [uuid.uuid4() for _ in range(200)]
    firsts = [next(iter(ob3.status_index_candidates(index_key, a))) for a in awards]
    assert firsts == [next(iter(ob3.status_index_candidates(index_key, a))) for a in awards]
    assert max(firsts) > STATUS_LIST_SIZE // 2 > min(firsts)
    assert len(set(firsts)) > 190


def test_baked_png_and_svg_give_back_the_signed_credential() -> None:
    signer = CredentialSigner(ob3.CredentialUrls("http://127.0.0.1:8002"), IssuerKeys((SECRET,)))
    key = issuer_key(signer, 1)
    text = json.dumps(signed_credential(signer, key), separators=(",", ":"))
    from services.badge.adapters.default_image import render

    png = credential_baking.bake_png(render("Urban gardening", BADGE_ID), text)
    assert credential_baking.read_png(png) == text
    assert credential_baking.read_png(credential_baking.bake_png(png, text)) == text
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    baked = credential_baking.bake_svg(svg, text.replace("Three", "]]> Three"))
    assert b"xmlns:openbadges=" in baked
    assert credential_baking.read_svg(baked) == text.replace("Three", "]]> Three")
    methods = methods_of(ob3.did_document(signer.urls, ISSUER_ID, [key]))
    data_integrity.verify(json.loads(credential_baking.read_png(png) or ""), methods)


def test_signed_2_0_keys_travel_sealed_and_sign_deterministic_jws() -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from services.badge.adapters import signed_assertions

    keys = IssuerKeys((SECRET,))
    pem, der = signed_assertions.new_key()
    wrapped = keys.wrap(ISSUER_ID, der)
    assert der not in base64.urlsafe_b64decode(wrapped)
    assert keys.unwrap(ISSUER_ID, keys.current_secret_id, wrapped) == der
    with pytest.raises(InvalidTag):  # another issuer's sealed key does not open as this one's
        keys.unwrap(uuid.uuid4(), keys.current_secret_id, wrapped)
    document = {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "urn:x"}
    jws = signed_assertions.sign(document, der)
    assert jws == signed_assertions.sign(document, der)
    header, payload, signature = jws.split(".")
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{header}.{payload}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == document
