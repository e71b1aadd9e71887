"""Every decision of the activity service, each refusal and each outcome, without I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.activity import (
    ActivityArchived,
    ActivityDrafted,
    ActivityPublished,
    ActivityUpdated,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
    PlaylistArchived,
    PlaylistDrafted,
    PlaylistPublished,
    PlaylistUpdated,
)
from services.activity.domain.keys import new_key
from services.activity.domain.model import (
    Activity,
    ArchiveActivity,
    ArchivePlaylist,
    DraftActivity,
    DraftPlaylist,
    Playlist,
    PublishActivity,
    PublishPlaylist,
    Status,
    UpdateActivity,
    UpdatePlaylist,
    decide_activity,
    decide_playlist,
)
from services.activity.domain.organisations import (
    Organisation,
    decide_create_organisation,
    existing,
)
from services.activity.domain.organisers import (
    BootstrapOrganisation,
    Key,
    Member,
    Operator,
    decide_add,
    decide_bootstrap,
    decide_issue_key,
    decide_make_admin,
    decide_remove,
    decide_revoke_key,
)
from services.kernel.errors import Conflict, Forbidden, Invalid, NotFound

ORG = uuid.uuid4()
OTHER_ORG = uuid.uuid4()
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _activity(status: Status = Status.DRAFT, organisation: uuid.UUID = ORG) -> Activity:
    return Activity(uuid.uuid4(), organisation, "Gardening", "Grow", "Plant", status, 1, AT, AT)


def _playlist(activity_ids: tuple[uuid.UUID, ...], status: Status = Status.DRAFT) -> Playlist:
    return Playlist(uuid.uuid4(), ORG, "Trail", "Walk", activity_ids, status, 1, AT, AT)


# -- activities -------------------------------------------------------------------------------


def test_drafting_an_activity_records_its_content():
    activity_id = uuid.uuid4()
    [event] = decide_activity(None, DraftActivity(activity_id, ORG, "Gardening", "Grow", "Plant"))
    assert event == ActivityDrafted(
        activity_id=activity_id,
        organisation_id=ORG,
        title="Gardening",
        description="Grow",
        criteria="Plant",
        starts_at=None,
        ends_at=None,
        place=None,
    )


def test_drafting_an_existing_activity_is_a_conflict():
    activity = _activity()
    with pytest.raises(Conflict, match="already exists"):
        decide_activity(activity, DraftActivity(activity.activity_id, ORG, "x", "", ""))


@pytest.mark.parametrize(
    "command",
    [
        lambda a: UpdateActivity(a, ORG, title="x"),
        lambda a: PublishActivity(a, ORG),
        lambda a: ArchiveActivity(a, ORG),
    ],
)
def test_changing_an_unknown_or_foreign_activity_is_refused(command):
    with pytest.raises(NotFound, match="activity not found"):
        decide_activity(None, command(uuid.uuid4()))
    foreign = _activity(organisation=OTHER_ORG)
    with pytest.raises(Forbidden, match="another organisation"):
        decide_activity(foreign, command(foreign.activity_id))


def test_an_update_carries_the_whole_content_with_only_the_changed_fields_new():
    activity = _activity()
    [event] = decide_activity(activity, UpdateActivity(activity.activity_id, ORG, criteria="Dig"))
    assert isinstance(event, ActivityUpdated)
    assert (event.title, event.description, event.criteria) == ("Gardening", "Grow", "Dig")
    assert decide_activity(activity, UpdateActivity(activity.activity_id, ORG)) == []


def test_a_published_activity_can_still_be_edited_and_archived():
    published = _activity(Status.PUBLISHED)
    [updated] = decide_activity(published, UpdateActivity(published.activity_id, ORG, title="G"))
    assert isinstance(updated, ActivityUpdated) and updated.title == "G"
    [archived] = decide_activity(published, ArchiveActivity(published.activity_id, ORG))
    assert archived == ActivityArchived(activity_id=published.activity_id, organisation_id=ORG)


def test_publishing_a_draft_carries_its_content_and_publishing_again_is_refused():
    draft = _activity()
    [event] = decide_activity(draft, PublishActivity(draft.activity_id, ORG))
    assert isinstance(event, ActivityPublished) and event.criteria == "Plant"
    with pytest.raises(Conflict, match="already published"):
        decide_activity(_activity(Status.PUBLISHED), PublishActivity(draft.activity_id, ORG))


def test_an_archived_activity_refuses_every_change():
    archived = _activity(Status.ARCHIVED)
    for command in (
        UpdateActivity(archived.activity_id, ORG, title="x"),
        PublishActivity(archived.activity_id, ORG),
        ArchiveActivity(archived.activity_id, ORG),
    ):
        with pytest.raises(Conflict, match="archived"):
            decide_activity(archived, command)


# -- playlists --------------------------------------------------------------------------------


def test_drafting_a_playlist_of_the_organisations_activities():
    first, second = _activity(), _activity(Status.PUBLISHED)
    playlist_id = uuid.uuid4()
    ids = (first.activity_id, second.activity_id)
    [event] = decide_playlist(
        None,
        DraftPlaylist(playlist_id, ORG, "Trail", "Walk", ids),
        {first.activity_id: first, second.activity_id: second},
    )
    assert event == PlaylistDrafted(
        playlist_id=playlist_id,
        organisation_id=ORG,
        title="Trail",
        description="Walk",
        activity_ids=ids,
    )
    # An empty playlist may be drafted; it is filled before it is published.
    assert decide_playlist(None, DraftPlaylist(playlist_id, ORG, "Trail", "", ()), {})


def test_drafting_an_existing_playlist_is_a_conflict():
    playlist = _playlist(())
    with pytest.raises(Conflict, match="already exists"):
        decide_playlist(playlist, DraftPlaylist(playlist.playlist_id, ORG, "T", "", ()), {})


@pytest.mark.parametrize(
    ("listed", "known", "refusal"),
    [
        ("twice", "own", "each activity once"),
        ("once", "none", "not one of your organisation"),
        ("once", "foreign", "not one of your organisation"),
        ("once", "archived", "is archived"),
    ],
)
def test_a_playlist_lists_each_live_activity_of_its_organisation_once(listed, known, refusal):
    activity = {
        "own": _activity(),
        "none": _activity(),
        "foreign": _activity(organisation=OTHER_ORG),
        "archived": _activity(Status.ARCHIVED),
    }[known]
    ids = (activity.activity_id,) * (2 if listed == "twice" else 1)
    activities = {} if known == "none" else {activity.activity_id: activity}
    with pytest.raises(Conflict, match=refusal):
        decide_playlist(None, DraftPlaylist(uuid.uuid4(), ORG, "T", "", ids), activities)
    draft = _playlist(())
    with pytest.raises(Conflict, match=refusal):
        decide_playlist(draft, UpdatePlaylist(draft.playlist_id, ORG, activity_ids=ids), activities)


def test_changing_an_unknown_or_foreign_playlist_is_refused():
    with pytest.raises(NotFound, match="playlist not found"):
        decide_playlist(None, PublishPlaylist(uuid.uuid4(), ORG), {})
    foreign = replace(_playlist(()), organisation_id=OTHER_ORG)
    with pytest.raises(Forbidden, match="another organisation"):
        decide_playlist(foreign, UpdatePlaylist(foreign.playlist_id, ORG, title="x"), {})


def test_updating_a_draft_playlist_records_only_real_changes():
    activity = _activity()
    draft = _playlist((activity.activity_id,))
    assert decide_playlist(draft, UpdatePlaylist(draft.playlist_id, ORG, title="Trail"), {}) == []
    [event] = decide_playlist(draft, UpdatePlaylist(draft.playlist_id, ORG, description="Run"), {})
    assert isinstance(event, PlaylistUpdated)
    assert (event.title, event.description, event.activity_ids) == (
        "Trail",
        "Run",
        (activity.activity_id,),
    )
    [emptied] = decide_playlist(draft, UpdatePlaylist(draft.playlist_id, ORG, activity_ids=()), {})
    assert isinstance(emptied, PlaylistUpdated) and emptied.activity_ids == ()


def test_a_published_playlist_is_fixed():
    published = _playlist((uuid.uuid4(),), Status.PUBLISHED)
    for command in (
        UpdatePlaylist(published.playlist_id, ORG, title="x"),
        PublishPlaylist(published.playlist_id, ORG),
    ):
        with pytest.raises(Conflict, match="fixed"):
            decide_playlist(published, command, {})


def test_a_playlist_is_published_when_every_activity_is_published():
    done, pending = _activity(Status.PUBLISHED), _activity()
    with pytest.raises(Conflict, match="at least one activity"):
        decide_playlist(_playlist(()), PublishPlaylist(uuid.uuid4(), ORG), {})
    mixed = _playlist((done.activity_id, pending.activity_id))
    with pytest.raises(Conflict, match="not published yet"):
        decide_playlist(
            mixed,
            PublishPlaylist(mixed.playlist_id, ORG),
            {done.activity_id: done, pending.activity_id: pending},
        )
    ready = _playlist((done.activity_id,))
    [event] = decide_playlist(
        ready, PublishPlaylist(ready.playlist_id, ORG), {done.activity_id: done}
    )
    assert isinstance(event, PlaylistPublished) and event.activity_ids == (done.activity_id,)
    gone = replace(done, status=Status.ARCHIVED)
    with pytest.raises(Conflict, match="archived"):
        decide_playlist(ready, PublishPlaylist(ready.playlist_id, ORG), {done.activity_id: gone})


# -- organisations ----------------------------------------------------------------------------


def test_an_organisation_is_created_with_a_checked_profile():
    organisation_id = uuid.uuid4()
    [event] = decide_create_organisation(
        organisation_id, "Riverside", " https://riverside.example.org ", "Hi@Riverside.ORG"
    )
    assert event == OrganisationCreated(
        organisation_id=organisation_id,
        name="Riverside",
        url="https://riverside.example.org",
        email="Hi@riverside.org",
    )
    with pytest.raises(Invalid, match="https://"):
        decide_create_organisation(organisation_id, "R", "javascript:alert(1)", "a@b.org")
    with pytest.raises(Invalid, match="organisation's email"):
        decide_create_organisation(organisation_id, "R", "https://r.org", "nobody")


def test_organisers_are_added_to_an_organisation_that_exists():
    organisation = Organisation(ORG, "Riverside", "https://r.org", "a@r.org", AT)
    assert existing(organisation) is organisation
    with pytest.raises(NotFound, match="organisation not found"):
        existing(None)


def _bootstrap(**changes: Any) -> BootstrapOrganisation:
    command = BootstrapOrganisation(
        organisation_id=uuid.uuid4(),
        name="Riverside",
        url="https://riverside.example.org",
        email="hello@riverside.example.org",
        organiser_id=uuid.uuid4(),
        organiser_name="Ana",
        organiser_email=" Ana@Riverside.Example.ORG",
    )
    return replace(command, **changes)


def test_bootstrapping_creates_the_organisation_and_its_admin_with_a_key():
    command, key = _bootstrap(), new_key()
    events = decide_bootstrap(command, key)
    assert [type(e) for e in events] == [
        OrganisationCreated,
        OrganiserAdded,
        OrganiserKeyIssued,
        OrganiserAdminRoleGranted,
    ]
    added, issued = events[1], events[2]
    assert isinstance(added, OrganiserAdded) and added.email == "Ana@riverside.example.org"
    assert added.organisation_id == command.organisation_id
    assert isinstance(issued, OrganiserKeyIssued)
    assert (issued.key_id, issued.secret_sha256) == (key.key_id, key.secret_sha256)
    assert key.secret not in str(events)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"url": "ftp://x.org"}, "https://"),
        ({"email": "nobody"}, "organisation's email"),
        ({"organiser_email": "ana@"}, "organiser's email"),
    ],
)
def test_bootstrapping_with_an_invalid_profile_decides_nothing(changes, refusal):
    with pytest.raises(Invalid, match=refusal):
        decide_bootstrap(_bootstrap(**changes), new_key())


# -- organisers and keys ----------------------------------------------------------------------


def _member(admin: bool = False, organisation: uuid.UUID = ORG, removed: bool = False) -> Member:
    return Member(uuid.uuid4(), organisation, "Someone", "someone@example.org", admin, removed)


def _key(owner: Member, revoked: bool = False) -> Key:
    return Key(new_key().key_id, owner.organiser_id, owner.organisation_id, revoked)


def test_adding_an_organiser_gives_them_a_key_and_the_admin_role_only_if_asked():
    organiser_id, key = uuid.uuid4(), new_key()
    events = decide_add(_member(admin=True), ORG, organiser_id, "Bo", " Bo@X.ORG", key, admin=False)
    assert events == [
        OrganiserAdded(organiser_id=organiser_id, organisation_id=ORG, name="Bo", email="Bo@x.org"),
        OrganiserKeyIssued(
            organiser_id=organiser_id,
            organisation_id=ORG,
            key_id=key.key_id,
            secret_sha256=key.secret_sha256,
        ),
    ]
    assert decide_add(Operator(), ORG, organiser_id, "Bo", "bo@x.org", key, admin=True)[-1] == (
        OrganiserAdminRoleGranted(organiser_id=organiser_id, organisation_id=ORG)
    )


def test_adding_an_organiser_is_refused_to_non_admins_other_organisations_and_bad_emails():
    args = (uuid.uuid4(), "Bo", "bo@x.org", new_key())
    with pytest.raises(Forbidden, match="only an admin"):
        decide_add(_member(), ORG, *args, admin=False)
    with pytest.raises(NotFound, match="organiser not found"):
        decide_add(_member(admin=True, organisation=OTHER_ORG), ORG, *args, admin=False)
    with pytest.raises(Invalid, match="organiser's email"):
        decide_add(Operator(), ORG, uuid.uuid4(), "Bo", "bo@", new_key(), admin=False)


def test_keys_are_issued_to_oneself_and_by_the_operator_to_anyone():
    me = _member()
    key = new_key()
    assert decide_issue_key(me, me, key) == [
        OrganiserKeyIssued(
            organiser_id=me.organiser_id,
            organisation_id=ORG,
            key_id=key.key_id,
            secret_sha256=key.secret_sha256,
        )
    ]
    [issued] = decide_issue_key(Operator(), me, new_key())
    assert issued.organiser_id == me.organiser_id
    with pytest.raises(Forbidden, match="yourself"):
        decide_issue_key(_member(admin=True), me, new_key())


def test_no_key_is_issued_to_an_unknown_foreign_or_removed_organiser():
    with pytest.raises(NotFound):
        decide_issue_key(Operator(), None, new_key())
    with pytest.raises(NotFound):
        decide_issue_key(_member(), _member(organisation=OTHER_ORG), new_key())
    gone = _member(removed=True)
    with pytest.raises(Conflict, match="removed"):
        decide_issue_key(Operator(), gone, new_key())


def test_revoking_a_key_that_is_not_there_is_not_found():
    with pytest.raises(NotFound, match="key not found"):
        decide_revoke_key(_member(admin=True), None)
    with pytest.raises(NotFound, match="key not found"):
        decide_revoke_key(Operator(), None)


def test_revoking_a_key_names_it_and_its_holder():
    owner = _member()
    key = _key(owner)
    assert decide_revoke_key(owner, key) == [
        OrganiserKeyRevoked(organiser_id=owner.organiser_id, organisation_id=ORG, key_id=key.key_id)
    ]


def test_an_admin_removes_a_colleague_revoking_only_that_colleagues_live_keys():
    admin, leaving, staying = _member(admin=True), _member(), _member()
    live, dead, others = _key(leaving), _key(leaving, revoked=True), _key(staying)
    events = decide_remove(admin, leaving, [live, dead, others])
    assert events == [
        OrganiserKeyRevoked(
            organiser_id=leaving.organiser_id, organisation_id=ORG, key_id=live.key_id
        ),
        OrganiserRemoved(organiser_id=leaving.organiser_id, organisation_id=ORG),
    ]
    assert decide_remove(Operator(), admin, [])[-1] == OrganiserRemoved(
        organiser_id=admin.organiser_id, organisation_id=ORG
    )


def test_removing_is_refused_for_unknown_foreign_removed_oneself_and_non_admins():
    admin = _member(admin=True)
    with pytest.raises(NotFound):
        decide_remove(admin, None, [])
    with pytest.raises(NotFound):
        decide_remove(admin, _member(organisation=OTHER_ORG), [])
    with pytest.raises(Conflict, match="removed"):
        decide_remove(admin, _member(removed=True), [])
    with pytest.raises(Conflict, match="yourself"):
        decide_remove(admin, admin, [])
    with pytest.raises(Forbidden, match="only an admin"):
        decide_remove(_member(), _member(), [])


def test_an_admin_makes_a_colleague_admin_once():
    admin, colleague = _member(admin=True), _member()
    assert decide_make_admin(admin, colleague) == [
        OrganiserAdminRoleGranted(organiser_id=colleague.organiser_id, organisation_id=ORG)
    ]
    assert decide_make_admin(Operator(), colleague)
    with pytest.raises(Conflict, match="already an admin"):
        decide_make_admin(admin, _member(admin=True))
    with pytest.raises(Forbidden, match="only an admin"):
        decide_make_admin(_member(), colleague)
    with pytest.raises(NotFound):
        decide_make_admin(admin, _member(organisation=OTHER_ORG))
    with pytest.raises(Conflict, match="removed"):
        decide_make_admin(admin, _member(removed=True))


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PUBLISHED])
def test_a_draft_or_published_playlist_is_archived(status):
    playlist = _playlist((uuid.uuid4(),), status)
    [event] = decide_playlist(playlist, ArchivePlaylist(playlist.playlist_id, ORG), {})
    assert event == PlaylistArchived(playlist_id=playlist.playlist_id, organisation_id=ORG)


def test_an_archived_playlist_changes_no_more():
    archived = _playlist((uuid.uuid4(),), Status.ARCHIVED)
    for command in (
        UpdatePlaylist(archived.playlist_id, ORG, title="x"),
        PublishPlaylist(archived.playlist_id, ORG),
        ArchivePlaylist(archived.playlist_id, ORG),
    ):
        with pytest.raises(Conflict, match="archived"):
            decide_playlist(archived, command, {})


def test_only_the_organisations_own_playlist_is_archived():
    with pytest.raises(NotFound, match="playlist not found"):
        decide_playlist(None, ArchivePlaylist(uuid.uuid4(), ORG), {})
    foreign = replace(_playlist(()), organisation_id=OTHER_ORG)
    with pytest.raises(Forbidden, match="another organisation"):
        decide_playlist(foreign, ArchivePlaylist(foreign.playlist_id, ORG), {})
