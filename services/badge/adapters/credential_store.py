"""The Open Badges 3.0 read models: issuers' public keys and the signed credentials, as their
events say (re-derivable from the log like every table)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.badge.domain.credentials import Issuer, IssuerKey
from services.kernel.store import Connection

CREDENTIAL_DDL = """
CREATE TABLE IF NOT EXISTS issuer_keys (
    issuer_id uuid NOT NULL,
    generation integer NOT NULL,
    public_key_multibase text NOT NULL,
    secret_id text NOT NULL,
    created_at timestamptz NOT NULL,
    compromised_since timestamptz,
    PRIMARY KEY (issuer_id, generation)
);
CREATE TABLE IF NOT EXISTS credentials (
    assertion_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    issuer_id uuid NOT NULL,
    key_generation integer NOT NULL,
    status_list_index integer NOT NULL,
    credential text NOT NULL,
    UNIQUE (issuer_id, status_list_index)
);
"""

CREDENTIAL_DDL += """
CREATE TABLE IF NOT EXISTS issuer_rsa_keys (
    issuer_id uuid PRIMARY KEY,
    public_key_pem text NOT NULL,
    wrapped_private_key text NOT NULL,
    secret_id text NOT NULL,
    enabled_at timestamptz NOT NULL
);
"""

CREDENTIAL_DDL += """
CREATE TABLE IF NOT EXISTS endorsements (
    endorsement_id uuid PRIMARY KEY,
    endorser_id uuid NOT NULL,
    badge_class_id uuid NOT NULL,
    comment text NOT NULL,
    credential text NOT NULL,
    endorsed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS endorsements_by_badge ON endorsements (badge_class_id, endorsed_at);
"""

CREDENTIAL_TABLES = ("issuer_keys", "credentials", "issuer_rsa_keys", "endorsements")


async def endorsements_of(conn: Connection, badge_class_id: uuid.UUID) -> list[dict[str, Any]]:
    """The badge's endorsements, oldest first, with each endorser's name."""
    rows = await conn.fetch(
        "SELECT e.*, i.name AS endorser_name FROM endorsements e "
        "LEFT JOIN issuers i ON i.issuer_id = e.endorser_id "
        "WHERE e.badge_class_id = $1 ORDER BY e.endorsed_at, e.endorsement_id",
        badge_class_id,
    )
    return [dict(row) for row in rows]


async def endorsement(conn: Connection, endorsement_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT * FROM endorsements WHERE endorsement_id = $1", endorsement_id
    )
    return dict(row) if row else None


async def rsa_key(conn: Connection, issuer_id: uuid.UUID) -> dict[str, Any] | None:
    """The issuer's Open Badges 2.0 signing key, if it signs its Assertions."""
    row = await conn.fetchrow("SELECT * FROM issuer_rsa_keys WHERE issuer_id = $1", issuer_id)
    return dict(row) if row else None


async def issuer_keys(conn: Connection, issuer_id: uuid.UUID) -> list[IssuerKey]:
    rows = await conn.fetch(
        "SELECT * FROM issuer_keys WHERE issuer_id = $1 ORDER BY generation", issuer_id
    )
    return [
        IssuerKey(
            issuer_id=row["issuer_id"],
            generation=row["generation"],
            public_key_multibase=row["public_key_multibase"],
            secret_id=row["secret_id"],
            created_at=row["created_at"],
            compromised_since=row["compromised_since"],
        )
        for row in rows
    ]


async def issuer(conn: Connection, issuer_id: uuid.UUID) -> Issuer | None:
    row = await conn.fetchrow(
        "SELECT issuer_id, name, url, email FROM issuers WHERE issuer_id = $1", issuer_id
    )
    return Issuer(**dict(row)) if row else None


async def credential(conn: Connection, assertion_id: uuid.UUID) -> dict[str, Any] | None:
    """The signed credential's text and what its status is now."""
    row = await conn.fetchrow(
        "SELECT c.credential, c.issuer_id, c.status_list_index, a.revoked, "
        "a.revocation_reason, a.expires FROM credentials c "
        "JOIN assertions a USING (assertion_id) WHERE c.assertion_id = $1",
        assertion_id,
    )
    return dict(row) if row else None


async def signed_by(
    conn: Connection, issuer_id: uuid.UUID, generation: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM credentials WHERE issuer_id = $1 AND key_generation = $2 "
        "ORDER BY assertion_id",
        issuer_id,
        generation,
    )
    return [dict(row) for row in rows]


async def index_taken(conn: Connection, issuer_id: uuid.UUID, index: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM credentials WHERE issuer_id = $1 AND status_list_index = $2",
            issuer_id,
            index,
        )
    )


async def revoked_entries(
    conn: Connection, issuer_id: uuid.UUID
) -> tuple[list[int], list[datetime]]:
    """The status list indexes of the issuer's revoked credentials, and when each was revoked."""
    rows = await conn.fetch(
        "SELECT c.status_list_index, a.revoked_at FROM credentials c "
        "JOIN assertions a USING (assertion_id) WHERE c.issuer_id = $1 AND a.revoked "
        "ORDER BY c.status_list_index",
        issuer_id,
    )
    return [row["status_list_index"] for row in rows], [row["revoked_at"] for row in rows]
