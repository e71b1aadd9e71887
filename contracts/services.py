"""The services of the platform and the topics they exchange: the one list that the topics
(services/kernel/topics.py), the local runner and the AsyncAPI document read.

It lives in contracts, beside the events, because it is part of what the services agree on
(who writes which topic, who reads it) and every side may read contracts: the kernel knows the
list without importing a service.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import activity, badge, evidence, notifier


@dataclass(frozen=True)
class Service:
    """One service: the topic it alone writes, the topics it consumes, its HTTP port."""

    name: str
    own_topic: str
    input_topics: tuple[str, ...]
    default_http_port: int

    @property
    def http_port_setting(self) -> str:
        """The environment variable that moves its HTTP port (ACTIVITY_HTTP_PORT, ...)."""
        return f"{self.name.upper()}_HTTP_PORT"

    @property
    def http_host_setting(self) -> str:
        return f"{self.name.upper()}_HTTP_HOST"


# In the order the runner starts them.
CATALOGUE: tuple[Service, ...] = (
    # Badge: the badge each published activity and playlist earns, for the public catalogue.
    Service("activity", activity.TOPIC, (badge.TOPIC,), 8001),
    Service("badge", badge.TOPIC, (activity.TOPIC, evidence.TOPIC, notifier.TOPIC), 8002),
    Service("evidence", evidence.TOPIC, (badge.TOPIC, activity.TOPIC), 8003),
    # Activity: organisation and organiser names, for senders and invitations.
    Service("notifier", notifier.TOPIC, (activity.TOPIC, badge.TOPIC, evidence.TOPIC), 8004),
)

SERVICES: tuple[str, ...] = tuple(service.name for service in CATALOGUE)


def service(name: str) -> Service:
    for found in CATALOGUE:
        if found.name == name:
            return found
    raise KeyError(f"no service {name!r} in the catalogue; the services are {SERVICES}")


def producer_of(topic: str) -> Service:
    """The one service that writes `topic`."""
    for found in CATALOGUE:
        if found.own_topic == topic:
            return found
    raise KeyError(f"no service writes {topic!r}")
