"""What runs on each event the activity service reads. Its decisions are made on commands
(service_layer.py) but one: which organisers a sign-in ask reaches (policies.py), decided on its
own log. Its events are projected (projections.py; the API keys by the shared
`organiser_access` reader); of the badge service's log it reads only the badges made for
activities and playlists, for the public catalogue."""

from __future__ import annotations

from contracts.activity import (
    ActivityArchived,
    ActivityDrafted,
    ActivityPublished,
    ActivityUpdated,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserRemoved,
    OrganiserSignInAsked,
    OrganiserSignInRequested,
    PlaylistArchived,
    PlaylistDrafted,
    PlaylistPublished,
    PlaylistUpdated,
)
from contracts.badge import BadgeClassCreated, BadgeClassEdited
from services.activity import projections as p
from services.activity.policies import SignInPolicies
from services.kernel.handlers import Handlers
from services.organiser_access import key_projections

HANDLERS = (
    Handlers()
    .project(OrganisationCreated, p.organisation_created)
    .project(OrganiserAdded, p.organiser_added)
    .include(key_projections())
    .project(OrganiserKeyIssued, p.sign_in_used)
    .project(OrganiserSignInRequested, p.sign_in_requested)
    .project(OrganiserAdminRoleGranted, p.admin_role_granted)
    .project(OrganiserRemoved, p.organiser_removed)
    .project(ActivityDrafted, p.activity_drafted)
    .project(ActivityUpdated, p.activity_changed)
    .project(ActivityPublished, p.activity_changed)
    .project(ActivityArchived, p.activity_changed)
    .project(PlaylistDrafted, p.playlist_drafted)
    .project(PlaylistUpdated, p.playlist_changed)
    .project(PlaylistPublished, p.playlist_changed)
    .project(PlaylistArchived, p.playlist_changed)
    .react(OrganiserSignInAsked, SignInPolicies().link_sign_in_ask)
    .project(BadgeClassCreated, p.badge_class_created)
    .project(BadgeClassEdited, p.badge_class_edited)
)
