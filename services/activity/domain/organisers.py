"""Organisers of an organisation and their API keys: who may add, remove and promote
colleagues (admins), and who may revoke which key, decided from the current state.

An organisation's admins manage its organisers; every organiser manages their own keys and an
admin any key of the organisation. The operator (the command line on the server) may do all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from contracts import Envelope
from contracts.activity import (
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
)
from services.activity.domain.keys import NewKey
from services.activity.domain.organisations import check_email, decide_create_organisation
from services.kernel.errors import Conflict, Forbidden, NotFound


@dataclass(frozen=True)
class Member:
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    email: str
    is_admin: bool
    removed: bool

    @property
    def actor(self) -> str:
        return f"organiser:{self.organiser_id}"


@dataclass(frozen=True)
class Operator:
    """Whoever runs the service's command line: they hold the database already."""

    actor: str = "operator"


Actor = Member | Operator


@dataclass(frozen=True)
class Key:
    key_id: str
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    revoked: bool
    # "api" (for integrations) or "session" (a console sign-in, with its expiry).
    purpose: str = "api"
    expires_at: datetime | None = None


def _admin_of(actor: Actor, organisation_id: uuid.UUID, doing: str) -> None:
    if isinstance(actor, Operator):
        return
    if actor.organisation_id != organisation_id:
        raise NotFound("organiser not found")
    if not actor.is_admin:
        raise Forbidden(f"only an admin of your organisation may {doing}")


def _colleague(target: Member | None, actor: Actor) -> Member:
    if target is None or (
        isinstance(actor, Member) and target.organisation_id != actor.organisation_id
    ):
        raise NotFound("organiser not found")
    if target.removed:
        raise Conflict("this organiser has been removed from the organisation")
    return target


def decide_add(
    actor: Actor,
    organisation_id: uuid.UUID,
    organiser_id: uuid.UUID,
    name: str,
    email: str,
    key: NewKey,
    *,
    admin: bool,
) -> list[OrganiserAdded | OrganiserKeyIssued | OrganiserAdminRoleGranted]:
    """A new organiser with their first key (and the admin role if asked for)."""
    _admin_of(actor, organisation_id, "add organisers")
    events: list[OrganiserAdded | OrganiserKeyIssued | OrganiserAdminRoleGranted] = [
        OrganiserAdded(
            organiser_id=organiser_id,
            organisation_id=organisation_id,
            name=name,
            email=check_email(email, "the organiser's email"),
        ),
        OrganiserKeyIssued(
            organiser_id=organiser_id,
            organisation_id=organisation_id,
            key_id=key.key_id,
            secret_sha256=key.secret_sha256,
        ),
    ]
    if admin:
        events.append(
            OrganiserAdminRoleGranted(organiser_id=organiser_id, organisation_id=organisation_id)
        )
    return events


def decide_issue_key(actor: Actor, owner: Member | None, key: NewKey) -> list[OrganiserKeyIssued]:
    """Organisers issue keys for themselves; the operator for anyone (a lost last key)."""
    target = _colleague(owner, actor)
    if isinstance(actor, Member) and actor.organiser_id != target.organiser_id:
        raise Forbidden("you may issue keys for yourself only")
    return [
        OrganiserKeyIssued(
            organiser_id=target.organiser_id,
            organisation_id=target.organisation_id,
            key_id=key.key_id,
            secret_sha256=key.secret_sha256,
        )
    ]


def decide_revoke_key(actor: Actor, key: Key | None) -> list[OrganiserKeyRevoked]:
    if key is None or (isinstance(actor, Member) and key.organisation_id != actor.organisation_id):
        # Another organisation's key is not found either: key ids tell nothing across them.
        raise NotFound("key not found")
    if isinstance(actor, Member) and not actor.is_admin and key.organiser_id != actor.organiser_id:
        raise Forbidden(
            "you may revoke your own keys; an admin may revoke any of the organisation's"
        )
    if key.revoked:
        raise Conflict("the key is already revoked")
    return [
        OrganiserKeyRevoked(
            organiser_id=key.organiser_id, organisation_id=key.organisation_id, key_id=key.key_id
        )
    ]


def decide_remove(
    actor: Actor, target: Member | None, keys: list[Key]
) -> list[OrganiserKeyRevoked | OrganiserRemoved]:
    """Removing an organiser revokes every key they hold, then records the removal."""
    found = _colleague(target, actor)
    _admin_of(actor, found.organisation_id, "remove organisers")
    if isinstance(actor, Member) and actor.organiser_id == found.organiser_id:
        # So an organisation always keeps an admin: only another admin can remove one.
        raise Conflict("you cannot remove yourself; another admin can")
    events: list[OrganiserKeyRevoked | OrganiserRemoved] = [
        OrganiserKeyRevoked(
            organiser_id=key.organiser_id, organisation_id=key.organisation_id, key_id=key.key_id
        )
        for key in keys
        if not key.revoked and key.organiser_id == found.organiser_id
    ]
    events.append(
        OrganiserRemoved(organiser_id=found.organiser_id, organisation_id=found.organisation_id)
    )
    return events


def decide_make_admin(actor: Actor, target: Member | None) -> list[OrganiserAdminRoleGranted]:
    found = _colleague(target, actor)
    _admin_of(actor, found.organisation_id, "make organisers admins")
    if found.is_admin:
        raise Conflict("this organiser is already an admin")
    return [
        OrganiserAdminRoleGranted(
            organiser_id=found.organiser_id, organisation_id=found.organisation_id
        )
    ]


@dataclass(frozen=True)
class BootstrapOrganisation:
    """The operator creates an organisation with its first organiser, who is its admin."""

    organisation_id: uuid.UUID
    name: str
    url: str
    email: str
    organiser_id: uuid.UUID
    organiser_name: str
    organiser_email: str


def decide_bootstrap(
    command: BootstrapOrganisation, key: NewKey
) -> list[OrganisationCreated | OrganiserAdded | OrganiserKeyIssued | OrganiserAdminRoleGranted]:
    """The organisation, its admin and the admin's first key; nothing if any of it is invalid."""
    return [
        *decide_create_organisation(
            command.organisation_id, command.name, command.url, command.email
        ),
        *decide_add(
            Operator(),
            command.organisation_id,
            command.organiser_id,
            command.organiser_name,
            command.organiser_email,
            key,
            admin=True,
        ),
    ]


# -- state from events ------------------------------------------------------------------------

MemberEvent = (
    Envelope[OrganiserAdded]
    | Envelope[OrganiserAdminRoleGranted]
    | Envelope[OrganiserRemoved]
    | Envelope[OrganiserKeyIssued]
    | Envelope[OrganiserKeyRevoked]
)


def evolve_member(state: Member | None, envelope: MemberEvent) -> Member:
    """One organiser's stream. `is_admin` here is the role granted by event; in logs from
    before `OrganiserAdminRoleGranted`, the organisation's first organiser is its admin too,
    which only the whole organisation can tell (the state stores work it out when read).
    Their keys are on this stream as well and change the keys, not the member."""
    event = envelope.payload
    if isinstance(event, OrganiserAdded):
        if state is not None:
            return state
        return Member(
            organiser_id=event.organiser_id,
            organisation_id=event.organisation_id,
            name=event.name,
            email=event.email,
            is_admin=False,
            removed=False,
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for an organiser who was never added")
    if isinstance(event, OrganiserAdminRoleGranted):
        return replace(state, is_admin=not state.removed)
    if isinstance(event, OrganiserRemoved):
        return replace(state, is_admin=False, removed=True)
    return state


KeyEvent = Envelope[OrganiserKeyIssued] | Envelope[OrganiserKeyRevoked] | Envelope[OrganiserRemoved]


def evolve_key(state: Key | None, envelope: KeyEvent) -> Key:
    """One API key. Removing its holder revokes it (the removal's own revocations come first;
    this covers any they missed)."""
    event = envelope.payload
    if isinstance(event, OrganiserKeyIssued):
        if state is not None:
            return state
        return Key(
            event.key_id,
            event.organiser_id,
            event.organisation_id,
            revoked=False,
            purpose=event.purpose,
            expires_at=event.expires_at,
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for a key that was never issued")
    if isinstance(event, OrganiserRemoved) and event.organiser_id != state.organiser_id:
        return state
    return replace(state, revoked=True)
