"""The one list of services and topics (contracts/services.py), and the places that read it:
the topics the kernel creates, the runner's ports, the services' specs, the AsyncAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import contracts
from contracts.services import CATALOGUE, SERVICES, producer_of, service
from services.kernel.handlers import Handlers
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings
from services.kernel.topics import all_topics
from services.local_runner import DEFAULT_PORTS, LocalPlatform

ASYNCAPI = Path(__file__).resolve().parents[2] / "contracts" / "schemas" / "asyncapi.json"


def test_every_topic_has_one_producer_and_every_input_is_someones_topic():
    own = [entry.own_topic for entry in CATALOGUE]
    assert sorted(own) == sorted(contracts.TOPICS)
    assert len(set(own)) == len(own)
    for entry in CATALOGUE:
        assert entry.own_topic not in entry.input_topics
        assert all(producer_of(topic).name != entry.name for topic in entry.input_topics)
    assert len({entry.default_http_port for entry in CATALOGUE}) == len(CATALOGUE)


def test_the_kernel_creates_each_services_topic_and_dead_letter_topic():
    settings = KernelSettings(NAMESPACE="ns", TOPIC_PARTITIONS=2)
    assert all_topics(settings) == {
        **{f"ns.{entry.own_topic}": 2 for entry in CATALOGUE},
        **{f"ns.{entry.name}.dead-letter": 1 for entry in CATALOGUE},
    }


def test_the_runner_starts_the_catalogues_services_on_their_ports(tmp_path):
    assert DEFAULT_PORTS == {"activity": 8001, "badge": 8002, "evidence": 8003, "notifier": 8004}
    env = LocalPlatform(run_dir=tmp_path, ports={**DEFAULT_PORTS, "badge": 9002}).env()
    assert env["BADGE_HTTP_PORT"] == "9002" and env["BADGE_HTTP_HOST"] == "127.0.0.1"
    assert service("badge").http_port_setting == "BADGE_HTTP_PORT"


def test_a_spec_reads_its_topics_from_the_catalogue_and_one_that_differs_is_refused():
    spec = ServiceSpec.of("evidence", ddl="", checksum_tables=())
    assert (spec.own_topic, spec.input_topics) == (
        service("evidence").own_topic,
        service("evidence").input_topics,
    )
    with pytest.raises(ValueError, match=r"contracts/services\.py"):
        ServiceSpec("badge", "badge.events", ("activity.events",), "", ())
    with pytest.raises(KeyError):
        ServiceSpec.of("console", ddl="", checksum_tables=())


def test_the_asyncapi_document_names_the_producer_of_every_channel():
    # The committed document: test_contracts holds it equal to what contracts.asyncapi writes.
    channels = json.loads(ASYNCAPI.read_text())["channels"]
    assert channels
    for key, channel in channels.items():
        producer = producer_of(channel["address"]).name
        assert producer in SERVICES
        assert f"Published by the {producer} service" in channel["description"], key


def test_the_runtime_takes_a_registry_or_a_function_that_builds_one():
    spec = ServiceSpec.of("activity", ddl="", checksum_tables=())
    registry = Handlers()
    given = ServiceRuntime(spec, KernelSettings(), registry)
    built = ServiceRuntime(spec, KernelSettings(), lambda runtime: registry)
    assert given._build_handlers(given) is registry
    assert built._build_handlers(built) is registry


def test_each_services_settings_default_to_its_port_in_the_catalogue():
    from services.activity.settings import ActivitySettings
    from services.badge.settings import BadgeSettings
    from services.evidence.settings import EvidenceSettings
    from services.notifier.settings import NotifierSettings

    defaults = {
        name: settings.model_fields["http_port"].default
        for name, settings in (
            ("activity", ActivitySettings),
            ("badge", BadgeSettings),
            ("evidence", EvidenceSettings),
            ("notifier", NotifierSettings),
        )
    }
    assert defaults == {entry.name: entry.default_http_port for entry in CATALOGUE}
