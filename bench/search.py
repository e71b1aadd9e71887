"""Benchmark of the public catalogue: search latency over 100,000 published activities through
the service's own query code, next to a bare PostgreSQL query of the same kind (the same
full-text and trigram match, rank and page size, on the same table) in the same run; and the
GeoJSON endpoint for a city-sized box, next to the bare box query.

    bash deploy/local/infra.sh start && eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.search [--activities 100000] [--queries 300]

The activities are generated straight into the catalogue's read model (a scratch schema of its
own, dropped at the end), not through Kafka: what is measured is the reads. The endpoint is
called in-process through its ASGI app (no network between), on the real PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx

from bench.badge_pipeline import percentile
from contracts.tokens import ClaimTokens
from services.activity.adapters.catalogue import CatalogueReader
from services.activity.adapters.read_models import DDL
from services.activity.domain.catalogue import PAGE_SIZE, CatalogueSearch
from services.activity.entrypoints.http import build_app
from services.activity.entrypoints.sign_in import SignInSettings
from services.activity.settings import ActivitySettings
from services.kernel import store
from services.kernel.runtime import ServiceRuntime
from services.kernel.settings import KernelSettings

_VOCABULARY = """
garden gardening compost seedlings vegetables rooftop soil bees beekeeping orchard coding website
python robots electronics soldering drones games design drawing painting pottery photography film
music guitar drums choir theatre dance football climbing cycling running swimming sailing kayaking
hiking camping cooking baking bread nutrition first aid mentoring leadership volunteering debate
writing poetry journalism podcast radio history archaeology museum library science chemistry
physics astronomy maths statistics finance budgeting enterprise marketing languages spanish french
welsh sign language recycling energy solar climate wildlife birds insects river canal park city
community youth club
"""
WORDS = tuple(_VOCABULARY.split())
CITIES = {  # latitude, longitude
    "Leeds": (53.7997, -1.5492),
    "Manchester": (53.4808, -2.2426),
    "Bristol": (51.4545, -2.5879),
    "Glasgow": (55.8642, -4.2518),
    "Cardiff": (51.4816, -3.1791),
    "Birmingham": (52.4862, -1.8904),
    "Newcastle": (54.9783, -1.6178),
    "London": (51.5072, -0.1276),
    "Belfast": (54.5973, -5.9301),
    "Norwich": (52.6309, 1.2974),
}
LEEDS_BOX = (-1.70, 53.72, -1.40, 53.88)  # west, south, east, north: about 20 km by 18 km


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


async def generate(conn: Any, count: int, rng: random.Random) -> None:
    organisations = [(uuid.uuid4(), f"{rng.choice(WORDS).title()} Trust {n}") for n in range(200)]
    await conn.copy_records_to_table(
        "organisations",
        records=[
            (o, name, "https://example.org", "org@example.org", datetime.now(UTC))
            for o, name in organisations
        ],
        columns=("organisation_id", "name", "url", "email", "created_at"),
    )
    start = datetime(2027, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        organisation_id, organisation_name = organisations[n % len(organisations)]
        online = n % 4 == 0
        city = rng.choice(list(CITIES.values()))
        begins = start + timedelta(days=rng.randrange(0, 365), hours=rng.randrange(8, 18))
        rows.append(
            (
                uuid.uuid4(),
                "activity",
                organisation_id,
                organisation_name,
                " ".join(rng.choice(WORDS) for _ in range(3)).title(),
                _sentence(rng, rng.randrange(15, 60)),
                _sentence(rng, rng.randrange(5, 15)),
                begins,
                begins + timedelta(hours=3),
                online,
                None if online else f"{rng.choice(WORDS).title()} centre",
                None,
                None if online else city[0] + rng.gauss(0, 0.08),
                None if online else city[1] + rng.gauss(0, 0.12),
                "en",
                start + timedelta(seconds=n),
            )
        )
    await conn.copy_records_to_table(
        "catalogue_entries",
        records=rows,
        columns=(
            "entry_id", "kind", "organisation_id", "organisation_name", "title", "description",
            "criteria", "starts_at", "ends_at", "online", "place_name", "place_address",
            "latitude", "longitude", "language", "published_at",
        ),
    )  # fmt: skip
    await conn.execute("ANALYZE catalogue_entries")


# PostgreSQL's full-text search on its own, on the same table and index: match, rank, one page.
BARE_SEARCH = (
    "SELECT entry_id, title FROM catalogue_entries "
    "WHERE search_vector @@ websearch_to_tsquery('english', $1) "
    "ORDER BY ts_rank(search_vector, websearch_to_tsquery('english', $1)) DESC "
    f"LIMIT {PAGE_SIZE}"
)


BARE_BOX = (
    "SELECT entry_id, title, latitude, longitude FROM catalogue_entries "
    "WHERE kind = 'activity' AND NOT online AND latitude BETWEEN $2 AND $4 "
    "AND longitude BETWEEN $1 AND $3 ORDER BY published_at DESC LIMIT 501"
)


async def timed(work: Any) -> float:
    started = time.perf_counter()
    await work()
    return (time.perf_counter() - started) * 1000


def report(name: str, samples: list[float], baseline: list[float]) -> None:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(
        f"{name}: service p50 {p50:.1f} ms, p99 {p99:.1f} ms | bare p50 {b50:.1f} ms, "
        f"p99 {b99:.1f} ms | ratio p50 {p50 / b50:.2f}x, p99 {p99 / b99:.2f}x"
    )


async def main_async(activities: int, queries: int) -> None:
    settings = KernelSettings()
    schema = f"bench_search_{uuid.uuid4().hex[:8]}"
    pool = await store.create_pool(settings.database_url, schema, max_size=4)
    try:
        await store.migrate(pool, DDL)
        rng = random.Random(7)
        began = time.perf_counter()
        async with pool.acquire() as conn:
            await generate(conn, activities, rng)
        print(f"generated {activities} published activities in {time.perf_counter() - began:.1f} s")

        reader = CatalogueReader(lambda: pool)
        terms = []
        for n in range(queries):
            word = rng.choice(WORDS)
            terms.append(
                word if n % 3 == 0 else _typo(rng, word) if n % 3 == 1
                else f"{word} {rng.choice(WORDS)}"
            )  # fmt: skip
        # Warm both paths once (plans, caches) before timing.
        for term in terms[:10]:
            await reader.search(CatalogueSearch(text=term))
        service: list[float] = []
        bare: list[float] = []
        found = 0
        async with pool.acquire() as conn:
            for term in terms:
                rows: list[Any] = []

                async def ours(term: str = term) -> None:
                    nonlocal rows
                    rows, _ = await reader.search(CatalogueSearch(text=term))

                async def plain(term: str = term) -> None:
                    await conn.fetch(BARE_SEARCH, term)

                service.append(await timed(ours))
                bare.append(await timed(plain))
                found += bool(rows)
        print(f"{queries} searches (a third typos, a third two words); {found} found something")
        report("search", service, bare)

        runtime = cast(ServiceRuntime, type("Runtime", (), {"pool": pool})())
        # The catalogue needs no sign-in; the app still takes its settings.
        sign_in = SignInSettings(ClaimTokens("bench-" * 8), timedelta(hours=1))
        app = build_app(runtime, sign_in, ActivitySettings())
        west, south, east, north = LEEDS_BOX
        box = f"{west},{south},{east},{north}"
        endpoint: list[float] = []
        plain_box: list[float] = []
        features = 0
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://catalogue") as client,
            pool.acquire() as conn,
        ):
            await client.get("/catalogue/map.geojson", params={"bbox": box})
            for _ in range(100):
                answer: list[httpx.Response] = []

                async def geojson(answer: list[httpx.Response] = answer) -> None:
                    answer.append(await client.get("/catalogue/map.geojson", params={"bbox": box}))

                async def box_query() -> None:
                    await conn.fetch(BARE_BOX, west, south, east, north)

                endpoint.append(await timed(geojson))
                plain_box.append(await timed(box_query))
                answer[0].raise_for_status()
                features = len(answer[0].json()["features"])
        print(f"GeoJSON for a city-sized box (Leeds, ~20 x 18 km): {features} features")
        report("map.geojson", endpoint, plain_box)
    finally:
        await pool.close()
        await store.drop_schema(settings.database_url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main_async(args.activities, args.queries))


if __name__ == "__main__":
    main()
