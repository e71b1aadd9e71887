"""Organisers' text is shown to learners escaped on every page and in every email."""

from __future__ import annotations

import uuid

from tests.support import bearer
from tests.support_flows import published_badge
from tests.support_mail import claim_link, html_body, wait_for_messages

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def test_html_in_badge_texts_is_escaped_everywhere(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Escaping")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    edited = await http.patch(
        base,
        headers=bearer(organiser),
        json={"name": f"Badge {SCRIPT}", "description": SCRIPT, "criteria_narrative": SCRIPT},
    )
    assert edited.status_code == 200
    learner = f"escape.{uuid.uuid4().hex[:8]}@example.org"
    await http.post(f"{base}/offers", headers=bearer(organiser), json={"email": learner})
    [message] = wait_for_messages(infra.mailbox_dir, learner)
    html_mail = html_body(message)
    link = claim_link(message)
    open_link = (await http.get(f"{base}/open-link", headers=bearer(organiser))).json()["url"]
    claim_page = (await http.get(link, headers={"Accept": "text/html"})).text
    open_page = (await http.get(open_link, headers={"Accept": "text/html"})).text
    accepted = await http.post(link, headers={"Accept": "text/html"}, follow_redirects=True)
    badge_page = accepted.text
    for name, page in [
        ("email", html_mail),
        ("claim page", claim_page),
        ("open link page", open_page),
        ("badge page", badge_page),
    ]:
        assert "<script>alert" not in page, name
        assert "<img src=x" not in page, name
        assert "&lt;script&gt;" in page, name
