"""The learner home's rules one by one: an award's state, whose award it is, what its public
page says of its holder, playlist progress, invitations to a playlist, the address sign-in
token and the session that holds several addresses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.requests import Request
from starlette.responses import Response

from contracts.evidence import AddressSignInAsked, PlaylistInvitationSent, RecipientDisplayChanged
from contracts.tokens import ClaimTokens
from services.badge.adapters.baking import bake_svg, png_in_svg
from services.badge.entrypoints.pages import linkedin_url
from services.evidence.domain.home import (
    MAX_INVITEES,
    ActivityBadge,
    Award,
    Inviter,
    PlaylistBadge,
    decide_address_sign_in,
    decide_invitation,
    decide_recipient_name,
    download_formats,
    follows,
    newest_first,
    own_award,
    progress,
)
from services.evidence.entrypoints.sessions import COOKIE, Sessions
from services.kernel.errors import Forbidden, Invalid, NotFound

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ANA = "ana@example.org"
ANA_WORK = "ana@work.example.org"
BEN = "ben@example.org"
ORG = uuid.uuid4()


def award(email: str = ANA, **changes: object) -> Award:
    fields: dict[str, object] = {
        "assertion_id": uuid.uuid4(),
        "badge_class_id": uuid.uuid4(),
        "issuer_id": ORG,
        "recipient_email": email,
        "badge_name": "Welding",
        "issuer_name": "Riverside",
        "issued_on": NOW - timedelta(days=3),
    }
    fields.update(changes)
    return Award(**fields)  # type: ignore[arg-type]


# -- state and ownership ---------------------------------------------------------------------


def test_an_award_is_valid_expired_or_revoked():
    assert award().state(NOW) == "valid"
    assert award(expires=NOW + timedelta(days=1)).state(NOW) == "valid"
    assert award(expires=NOW).state(NOW) == "expired"
    assert award(expires=NOW - timedelta(days=1)).state(NOW) == "expired"
    # Revoked says more than expired.
    assert award(expires=NOW - timedelta(days=1), revoked=True).state(NOW) == "revoked"


def test_awards_are_listed_newest_first():
    old, new, mid = (award(issued_on=NOW - timedelta(days=d)) for d in (9, 1, 5))
    assert newest_first([old, new, mid]) == [new, mid, old]


def test_someone_elses_award_is_refused_as_a_missing_one():
    mine = award(ANA)
    assert own_award(mine, (ANA_WORK, ANA)) is mine
    with pytest.raises(NotFound) as theirs:
        own_award(award(BEN), (ANA,))
    with pytest.raises(NotFound) as missing:
        own_award(None, (ANA,))
    assert theirs.value.message == missing.value.message


def test_downloads_are_png_and_svg_of_a_png_badge_svg_of_an_svg_one_none_once_revoked():
    assert download_formats(award()) == ["png", "svg"]
    assert download_formats(award(image_type="image/svg+xml")) == ["svg"]
    assert download_formats(award(revoked=True)) == []


# -- what the badge page says of its holder ----------------------------------------------------


def test_choosing_to_show_a_name_is_an_event_on_the_award():
    mine = award()
    [chosen] = decide_recipient_name(mine, (ANA,), True, "  Ana   Lima ")
    assert chosen == RecipientDisplayChanged(
        assertion_id=mine.assertion_id, badge_class_id=mine.badge_class_id, display_name="Ana Lima"
    )


def test_choosing_the_masked_address_again_or_the_same_name_appends_nothing():
    assert decide_recipient_name(award(), (ANA,), False, "ignored") == []
    assert decide_recipient_name(award(display_name="Ana"), (ANA,), True, "Ana") == []
    [back] = decide_recipient_name(award(display_name="Ana"), (ANA,), False, "")
    assert back.display_name is None


def test_a_name_must_be_given_and_short_and_the_award_ones_own():
    with pytest.raises(Invalid):
        decide_recipient_name(award(), (ANA,), True, "   ")
    with pytest.raises(Invalid):
        decide_recipient_name(award(), (ANA,), True, "x" * 101)
    with pytest.raises(NotFound):
        decide_recipient_name(award(BEN), (ANA,), True, "Ana")
    with pytest.raises(Invalid):
        decide_recipient_name(award(), (ANA,), True, "Ana\x00")


def test_a_sign_in_ask_is_made_for_any_address_normalised():
    assert decide_address_sign_in("  Ana@Example.ORG ") == [
        AddressSignInAsked(learner_email="ana@example.org")
    ]


# -- playlists -------------------------------------------------------------------------------


def playlist(*activity_ids: uuid.UUID) -> PlaylistBadge:
    return PlaylistBadge(uuid.uuid4(), uuid.uuid4(), ORG, "Riverside", "Green city", activity_ids)


def test_progress_goes_in_order_with_the_first_not_earned_next():
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    badges = {
        a: ActivityBadge(uuid.uuid4(), a, f"Step {n}")
        for n, a in enumerate((first, second, third), 1)
    }
    green = playlist(first, second, third)
    # The second earned, the first not yet: the first is next.
    held = award(badge_class_id=badges[second].badge_class_id)
    made = progress(green, badges, [held])
    assert [(s.name, s.earned is not None, s.is_next) for s in made.steps] == [
        ("Step 1", False, True),
        ("Step 2", True, False),
        ("Step 3", False, False),
    ]
    assert (made.earned, made.total, made.playlist_award) == (1, 3, None)
    assert made.next_step is not None and made.next_step.name == "Step 1"
    assert follows(made)


def test_a_revoked_badge_does_not_count_and_the_playlist_badge_shows_once_awarded():
    first, second = uuid.uuid4(), uuid.uuid4()
    badges = {a: ActivityBadge(uuid.uuid4(), a, "Step") for a in (first, second)}
    green = playlist(first, second)
    revoked = award(badge_class_id=badges[first].badge_class_id, revoked=True)
    assert progress(green, badges, [revoked]).earned == 0
    assert not follows(progress(green, badges, [revoked]))
    both = [award(badge_class_id=badges[a].badge_class_id) for a in (first, second)]
    prize = award(badge_class_id=green.badge_class_id)
    done = progress(green, badges, [*both, prize])
    assert (done.earned, done.total, done.next_step, done.playlist_award) == (2, 2, None, prize)


def test_an_activity_without_a_badge_yet_is_not_earned():
    first = uuid.uuid4()
    made = progress(playlist(first), {}, [award()])
    assert made.steps[0].earned is None and made.steps[0].name == "An activity"


# -- invitations -----------------------------------------------------------------------------


def test_an_organiser_of_the_playlists_organisation_invites_people():
    green = playlist(uuid.uuid4())
    invitation = uuid.uuid4()
    [sent] = decide_invitation(
        invitation, green, Inviter("organiser", "Ines", ORG), [BEN, ANA, BEN], " Come along "
    )
    assert sent == PlaylistInvitationSent(
        invitation_id=invitation,
        playlist_id=green.playlist_id,
        playlist_name="Green city",
        issuer_id=ORG,
        issuer_name="Riverside",
        inviter_kind="organiser",
        inviter="Ines",
        invitees=(BEN, ANA),
        note="Come along",
    )


def test_a_learner_who_follows_invites_others_but_not_themselves():
    green = playlist(uuid.uuid4())
    [sent] = decide_invitation(
        uuid.uuid4(), green, Inviter("learner", ANA, follows=True), [ANA, BEN]
    )
    assert sent.invitees == (BEN,) and sent.inviter_kind == "learner"
    with pytest.raises(Invalid):
        decide_invitation(uuid.uuid4(), green, Inviter("learner", ANA, follows=True), [ANA])


def test_invitations_are_refused_to_strangers_and_for_missing_playlists():
    green = playlist(uuid.uuid4())
    with pytest.raises(Forbidden):
        decide_invitation(uuid.uuid4(), green, Inviter("learner", ANA, follows=False), [BEN])
    with pytest.raises(Forbidden):
        decide_invitation(uuid.uuid4(), green, Inviter("organiser", "X", uuid.uuid4()), [BEN])
    with pytest.raises(NotFound):
        decide_invitation(uuid.uuid4(), None, Inviter("organiser", "X", ORG), [BEN])


def test_invitations_have_limits_of_size():
    green = playlist(uuid.uuid4())
    many = [f"p{n}@example.org" for n in range(MAX_INVITEES + 1)]
    with pytest.raises(Invalid):
        decide_invitation(uuid.uuid4(), green, Inviter("organiser", "I", ORG), many)
    with pytest.raises(Invalid):
        decide_invitation(uuid.uuid4(), green, Inviter("organiser", "I", ORG), [BEN], "x" * 501)
    with pytest.raises(Invalid):
        decide_invitation(uuid.uuid4(), green, Inviter("organiser", "I", ORG), [])
    with pytest.raises(Invalid):
        decide_invitation(uuid.uuid4(), green, Inviter("organiser", "I", ORG), [BEN], "a\x00b")
    [kept] = decide_invitation(uuid.uuid4(), green, Inviter("organiser", "I", ORG), [BEN], "a\nb")
    assert kept.note == "a\nb"


# -- the address sign-in token and the session -----------------------------------------------

SECRET = "a-long-random-secret-for-the-tests-0123456789"


def test_an_address_sign_in_token_proves_its_address_only_until_it_expires():
    tokens = ClaimTokens(SECRET, sign_in_days=7)
    token = tokens.address_sign_in(ANA, NOW)
    assert tokens.address_sign_in(ANA, NOW) == token  # the same on replay
    assert tokens.read_address_sign_in(token, ANA) == NOW + timedelta(days=7)
    assert tokens.read_address_sign_in(token, BEN) is None
    assert tokens.read_address_sign_in(token[:-2] + "AA", ANA) is None
    assert (
        ClaimTokens("another-long-random-secret-0123456789").read_address_sign_in(token, ANA)
        is None
    )
    # Not a quest's sign-in token, nor the other way round.
    assert tokens.read_sign_in(token, ANA) is None
    assert tokens.read_address_sign_in(tokens.sign_in(uuid.uuid4(), ANA, NOW), ANA) is None
    # A rotated ring still reads it.
    assert ClaimTokens("new-long-random-secret-0123456789abc", [SECRET]).read_address_sign_in(
        token, ANA
    )


def _request(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "headers": headers, "method": "GET", "path": "/"})


def _cookie(response: Response) -> str:
    header = response.headers["set-cookie"]
    return header.split(";")[0].split("=", 1)[1].strip('"')


def test_a_session_holds_every_address_proved_on_the_browser_and_sign_out_forgets_them():
    sessions = Sessions([SECRET], secure=False)
    first = _cookie(sessions.sign_in(Response(), ANA))
    assert sessions.learners(_request(first)) == (ANA,)
    second = _cookie(sessions.sign_in(Response(), ANA_WORK, _request(first)))
    assert sessions.learners(_request(second)) == (ANA_WORK, ANA)
    assert sessions.learner(_request(second)) == ANA_WORK
    # Proving an address again does not repeat it.
    again = _cookie(sessions.sign_in(Response(), ANA, _request(second)))
    assert sessions.learners(_request(again)) == (ANA, ANA_WORK)
    assert sessions.learners(_request(None)) == ()
    assert sessions.learners(_request(again[:-3] + "abc")) == ()
    out = sessions.sign_out(Response()).headers["set-cookie"]
    assert out.startswith(f'{COOKIE}=""') and "Max-Age=0" in out


def test_a_session_from_before_several_addresses_still_names_its_one():
    sessions = Sessions([SECRET], secure=False)
    old = sessions._serializer.dumps({"email": ANA})
    assert sessions.learners(_request(old)) == (ANA,)


# -- sharing ---------------------------------------------------------------------------------


def test_the_linkedin_link_is_linkedins_add_to_profile_address_with_the_certification():
    url = linkedin_url(
        "Welding & more",
        "Riverside Youth Centre",
        datetime(2026, 3, 9, tzinfo=UTC),
        "https://badges.example.org/badges/abc",
        "abc",
        datetime(2027, 3, 9, tzinfo=UTC),
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    assert parse_qs(parts.query) == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": ["Welding & more"],
        "organizationName": ["Riverside Youth Centre"],
        "issueYear": ["2026"],
        "issueMonth": ["3"],
        "certUrl": ["https://badges.example.org/badges/abc"],
        "certId": ["abc"],
        "expirationYear": ["2027"],
        "expirationMonth": ["3"],
    }


def test_a_png_badge_is_baked_as_an_svg_holding_the_png():
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (90, 60), (1, 2, 3)).save(out, format="PNG")
    svg = png_in_svg(out.getvalue())
    assert b'width="90" height="60"' in svg and b"data:image/png;base64," in svg
    baked = bake_svg(svg, "https://b.example.org/ob/assertions/1", '{"id": 1}')
    assert b'<openbadges:assertion verify="https://b.example.org/ob/assertions/1">' in baked
