"""Benchmark of a bulk issue from the console: a CSV uploaded on the Issue badge page (the
badge service accepts it at once and makes its offers after the answer), then its progress
polled (the fragment htmx asks for each second) until every email is sent, next to the same
CSV posted straight to the badge service's API with `Prefer: respond-async` and its progress
polled there, in the same run, on one platform. Last, the same CSV posted the old way (the
answer waits until every offer is made), timed until it answers.

    eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.console_issue [--rows 10000]

Starts its own copy of the platform (own topics and schemas), prints numbers, and cleans up.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.badge_pipeline import drop_schemas, percentile
from services.kernel.settings import KernelSettings
from services.local_runner import PROCESSES, LocalPlatform, free_port


def _csv(rows: int, domain: str, tag: str) -> bytes:
    return ("email\n" + "".join(f"{tag}{n}@{domain}\n" for n in range(rows))).encode()


async def _badge(platform: LocalPlatform, auth: dict[str, str], title: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        activity = (
            await client.post(
                f"{platform.url('activity')}/v1/activities", headers=auth, json={"title": title}
            )
        ).json()
        await client.post(
            f"{platform.url('activity')}/v1/activities/{activity['id']}/publish", headers=auth
        )
        while True:
            found = await client.get(
                f"{platform.url('badge')}/v1/badges",
                params={"source_id": activity["id"]},
                headers=auth,
            )
            if found.status_code == 200 and found.json():
                badge: dict[str, Any] = found.json()[0]
                return badge
            await asyncio.sleep(0.1)


async def _until_done(poll: Any) -> tuple[float, list[float]]:
    """Polls until the issue is done; its time, and each poll's latency in ms."""
    started = time.perf_counter()
    latencies = []
    while True:
        asked = time.perf_counter()
        done = await poll()
        latencies.append((time.perf_counter() - asked) * 1000)
        if done:
            return time.perf_counter() - started, latencies
        await asyncio.sleep(0.5)


async def direct(
    platform: LocalPlatform, auth: dict[str, str], data: bytes, until: str
) -> tuple[float, float, list[float]]:
    badge = await _badge(platform, auth, "Bench direct")
    async with httpx.AsyncClient(timeout=600) as client:
        started = time.perf_counter()
        answer = await client.post(
            f"{platform.url('badge')}/v1/badges/{badge['id']}/offers/csv",
            headers={**auth, "Prefer": "respond-async"},
            files={"file": ("people.csv", data, "text/csv")},
        )
        accepted = time.perf_counter() - started
        assert answer.status_code == 202, answer.text
        url = answer.json()["progress_url"]

        async def poll() -> bool:
            progress = (await client.get(url, headers=auth)).json()
            return bool(progress["offers_made"] if until == "offers" else progress["done"])

        waited, latencies = await _until_done(poll)
    return accepted, accepted + waited, latencies


async def console(
    platform: LocalPlatform, auth: dict[str, str], key: str, data: bytes, until: str
) -> tuple[float, float, list[float]]:
    badge = await _badge(platform, auth, "Bench console")
    base = platform.url("console")
    page = f"/activities/{badge['source_id']}/badge/issue"
    async with httpx.AsyncClient(
        base_url=base,
        timeout=600,
        cookies={"console_session": key},
        headers={"accept": "text/html", "origin": base},
    ) as client:
        started = time.perf_counter()
        answer = await client.post(
            f"{page}/csv",
            data={"issue_key": str(uuid.uuid4())},
            files={"file": ("people.csv", data, "text/csv")},
        )
        accepted = time.perf_counter() - started
        assert answer.status_code == 303, answer.text[:500]
        landed = await client.get(answer.headers["location"])
        assert landed.status_code == 200, landed.text[:500]
        found = re.search(r'hx-get="([^"]+/progress/[^"]+)"', landed.text)
        assert found, "the page has no progress to poll"

        async def poll() -> bool:
            fragment = await client.get(found.group(1), headers={"hx-request": "true"})
            if until == "offers":
                # Every row an offer: the count no longer says "of" the rows.
                return 'data-count="rows"' not in fragment.text
            return "hx-get" not in fragment.text

        waited, latencies = await _until_done(poll)
    return accepted, accepted + waited, latencies


async def waiting(platform: LocalPlatform, auth: dict[str, str], data: bytes) -> float:
    """The same CSV without `Prefer: respond-async`: the answer comes once every offer is
    made (what the console waited for before)."""
    badge = await _badge(platform, auth, "Bench waiting")
    async with httpx.AsyncClient(timeout=600) as client:
        started = time.perf_counter()
        answer = await client.post(
            f"{platform.url('badge')}/v1/badges/{badge['id']}/offers/csv",
            headers=auth,
            files={"file": ("people.csv", data, "text/csv")},
        )
        took = time.perf_counter() - started
        assert answer.status_code in (201, 503), answer.text[:300]
        print(f"badge API, waiting for every offer: answered {answer.status_code} in {took:.2f} s")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--until",
        choices=("emails", "offers"),
        default="emails",
        help="what `done` waits for: every email sent or failed (the relay's speed), or "
        "every row an offer (the badge service's)",
    )
    args = parser.parse_args()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    platform = LocalPlatform(
        run_dir=Path(tempfile.mkdtemp(prefix="bench-")),
        namespace=namespace,
        ports={service: free_port() for service in PROCESSES},
        extra_env={"NAMESPACE": namespace},
    )
    domain = f"{namespace}.example.org"
    print(f"platform {namespace}: {args.rows} rows a CSV, done when every {args.until[:-1]} is")
    platform.start_all()
    try:
        key = platform.bootstrap("Bench Centre", "bench@bench.example.org")["api_key"]
        auth = {"Authorization": f"Bearer {key}"}
        api = asyncio.run(direct(platform, auth, _csv(args.rows, domain, "api"), args.until))
        via = asyncio.run(
            console(platform, auth, key, _csv(args.rows, domain, "console"), args.until)
        )
        waited = asyncio.run(waiting(platform, auth, _csv(args.rows, domain, "waiting")))
    finally:
        platform.stop_all()
        asyncio.run(drop_schemas(KernelSettings(NAMESPACE=namespace)))
    for name, (accepted, done, polls) in (("badge API", api), ("console page", via)):
        print(
            f"{name}: {args.rows} rows accepted in {accepted:.2f} s, "
            + ("every row an offer" if args.until == "offers" else "every email sent or failed")
            + f" after {done:.1f} s; progress poll p50 {percentile(polls, 0.5):.1f} ms, "
            f"p99 {percentile(polls, 0.99):.1f} ms, mean {statistics.mean(polls):.1f} ms "
            f"({len(polls)} polls)"
        )
    print(
        f"answer with the offers made after it / answer once every offer is made: "
        f"{api[0] / waited:.3f} (badge API), {via[0] / waited:.3f} (console page)"
    )
    print(
        f"console / badge API ratio: accepting {via[0] / api[0]:.2f}, until done "
        f"{via[1] / api[1]:.2f}, poll p50 "
        f"{percentile(via[2], 0.5) / percentile(api[2], 0.5):.2f}"
    )


if __name__ == "__main__":
    main()
