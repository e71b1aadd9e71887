"""The load a fault campaign runs: bulk offers, claims from the real mailbox, and readers of
public documents, each recording every answer with its time."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from tests.support import Platform, bearer
from tests.support_mail import claim_link

RETRY_PAUSE = 0.3


@dataclass(frozen=True)
class Answer:
    """One request and how it was answered: status 0 means no answer (nothing listening)."""

    kind: str  # "write" or "read"
    at: float
    status: int
    seconds: float
    what: str = ""  # method and address


@dataclass
class Load:
    platform: Platform
    organiser: dict[str, str]
    badge_id: str
    label: str
    batch: int
    pause: float
    answers: list[Answer] = field(default_factory=list)
    acknowledged_offers: set[str] = field(default_factory=set)
    # offer id -> assertion id, for every Accept answered "awarded".
    acknowledged_awards: dict[str, str] = field(default_factory=dict)
    mailed: dict[str, str] = field(default_factory=dict)  # offer id -> claim link
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _seen_files: set[Path] = field(default_factory=set)

    async def _request(
        self, http: httpx.AsyncClient, kind: str, method: str, url: str, **options: Any
    ) -> httpx.Response | None:
        started = time.monotonic()
        what = f"{method} {url}"
        try:
            answer = await http.request(method, url, **options)
        except httpx.HTTPError:
            self.answers.append(Answer(kind, started, 0, time.monotonic() - started, what))
            return None
        took = time.monotonic() - started
        self.answers.append(Answer(kind, started, answer.status_code, took, what))
        if answer.status_code >= 500 and answer.status_code != 503:
            # Printed (pytest -s) so a server error can be traced to its request and answer.
            print(f"server error: {method} {url} -> {answer.status_code}: {answer.text[:300]}")
        return answer

    async def issue(self, http: httpx.AsyncClient) -> None:
        """Offers in batches, each retried with its Idempotency-Key until it is acknowledged."""
        url = f"{self.platform.url('badge')}/v1/badges/{self.badge_id}/offers"
        number = 0
        while not self.stopping.is_set():
            key = f"{self.label}-{number}"
            emails = [f"{self.label}.{number}.{n}@chaos.example.org" for n in range(self.batch)]
            number += 1
            while True:
                answer = await self._request(
                    http,
                    "write",
                    "POST",
                    url,
                    json={"emails": emails},
                    headers={**bearer(self.organiser), "Idempotency-Key": key},
                )
                if answer is not None and answer.status_code in (200, 201):
                    self.acknowledged_offers.update(o["offer_id"] for o in answer.json()["offers"])
                    break
                await asyncio.sleep(RETRY_PAUSE)
            await asyncio.sleep(self.pause)

    def _read_mailbox(self, mailbox: Path) -> None:
        for path in sorted(mailbox.glob("*.eml")):
            if path in self._seen_files:
                continue
            self._seen_files.add(path)
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            offer = str(message["X-Badge-Offer"] or "")
            # Kept whether or not its offer is acknowledged yet: a write whose answer was
            # lost is acknowledged by its retry, after its email may have come.
            if offer:
                self.mailed.setdefault(offer, claim_link(message))

    async def claim(self, http: httpx.AsyncClient, mailbox: Path) -> None:
        """Accept every mailed offer of this load once (again after no answer or a 503)."""
        while not self.stopping.is_set():
            # In a thread: parsing a burst of emails (the notifier catching up after an
            # outage) would stall this event loop, and with it the timing of every request.
            await asyncio.to_thread(self._read_mailbox, mailbox)
            for offer, link in list(self.mailed.items()):
                if offer in self.acknowledged_awards or offer not in self.acknowledged_offers:
                    continue
                answer = await self._request(
                    http, "write", "POST", link, headers={"Accept": "application/json"}
                )
                if answer is None or answer.status_code >= 500:
                    continue
                body = answer.json()
                if answer.status_code == 200 and body.get("status_name") == "awarded":
                    self.acknowledged_awards[offer] = body["assertion_id"]
                elif answer.status_code == 409:
                    # Awarded by an earlier try whose answer was lost: it holds the badge.
                    self.acknowledged_awards.setdefault(offer, "")
            await asyncio.sleep(0.5)

    async def read(self, http: httpx.AsyncClient) -> None:
        """A verifier fetching the public BadgeClass, and the organiser listing badges."""
        base = self.platform.url("badge")
        while not self.stopping.is_set():
            await self._request(http, "read", "GET", f"{base}/ob/badge-classes/{self.badge_id}")
            await self._request(
                http, "read", "GET", f"{base}/v1/badges", headers=bearer(self.organiser)
            )
            await asyncio.sleep(0.2)

    def writes(self) -> int:
        return sum(1 for a in self.answers if a.kind == "write")
