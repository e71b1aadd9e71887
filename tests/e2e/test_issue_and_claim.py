"""The core job end to end: publish, issue to three emails, the emails arrive at the real SMTP
server, each learner claims, and the official validator accepts each Assertion."""

from __future__ import annotations

import io
import uuid

import qrcode

from tests.support import bearer
from tests.support_flows import ob_verify, published_badge
from tests.support_mail import claim_link, html_body, inline_qr, wait_for_messages


async def test_issue_to_three_emails_claim_and_verify(http, platform, organiser, infra):
    assert infra.mailbox_dir is not None, "the tests need MAILBOX_DIR to read the mail"
    badge = await published_badge(http, platform, organiser, "Community radio")
    run = uuid.uuid4().hex[:8]
    learners = [f"learner{n}.{run}@example.org" for n in range(3)]
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"emails": [learners[0].upper(), f"  {learners[1]} ", learners[2]]},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["created"] == 3 and answer.json()["rejected"] == []

    assertion_urls = {}
    for learner in learners:
        [message] = wait_for_messages(infra.mailbox_dir, learner, subject="has a badge for you")
        assert "Riverside Youth Centre" in str(message["Subject"])
        link = claim_link(message)
        html = html_body(message)
        assert link in html and "cid:" in html
        expected_qr = io.BytesIO()
        qrcode.make(link, box_size=6, border=2).save(expected_qr)
        assert inline_qr(message) == expected_qr.getvalue(), "the QR code is not of the link"

        page = await http.get(link, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "Accept the badge" in page.text
        accepted = await http.post(link, headers={"Accept": "text/html"}, follow_redirects=False)
        assert accepted.status_code == 303, accepted.text
        badge_page = await http.get(accepted.headers["location"])
        assert badge_page.status_code == 200 and "Community radio" in badge_page.text

        assertion_id = accepted.headers["location"].rsplit("/", 1)[1]
        assertion_url = f"{platform.url('badge')}/ob/assertions/{assertion_id}"
        document = (await http.get(assertion_url)).json()
        assert document["type"] == "Assertion" and document["recipient"]["hashed"] is True
        assert learner not in str(document)
        assertion_urls[learner] = assertion_url

        again = await http.post(link, headers={"Accept": "text/html"}, follow_redirects=False)
        assert again.status_code == 409 and "already been claimed" in again.text
        wait_for_messages(infra.mailbox_dir, learner, subject="Your badge")

    for learner, url in assertion_urls.items():
        verified = ob_verify(url, learner)
        assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]

    first = learners[0]
    wrong = ob_verify(assertion_urls[first], f"someone.else.{run}@example.org")
    assert wrong.returncode != 0

    baked = await http.get(f"{assertion_urls[first]}/baked")
    assert baked.headers["content-type"] == "image/png"
    assert assertion_urls[first].encode() in baked.content

    revoked = await http.post(
        f"{platform.url('badge')}/v1/assertions/{assertion_urls[first].rsplit('/', 1)[1]}/revoke",
        headers=bearer(organiser),
        json={"reason": "Issued by mistake"},
    )
    assert revoked.status_code == 200, revoked.text
    after = ob_verify(assertion_urls[first], first)
    assert after.returncode != 0
    issuer_url = (await http.get(badge["open_badges_url"])).json()["issuer"]
    revocation_list = (await http.get(f"{issuer_url}/revocations")).json()
    assert [r["id"] for r in revocation_list["revokedAssertions"]] == [assertion_urls[first]]
