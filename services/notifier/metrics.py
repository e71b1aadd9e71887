"""The notifier's own metrics, beside the kernel's in the service's one registry: what became
of each attempt to mail, by the email's kind."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from contracts.notifier import EmailDeferred, EmailFailed, EmailSent
from services.kernel.metrics import METRICS


class EmailMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "emails_sent", "Emails the SMTP server accepted, by kind", ["kind"], registry=registry
        )
        self.failed = Counter(
            "emails_failed",
            "Emails given up on and recorded as failed (a 5xx refusal, the retry period over, "
            "no source to compose from), by kind",
            ["kind"],
            registry=registry,
        )
        self.deferred = Counter(
            "emails_deferred",
            "Attempts that may pass later (no connection, a 4xx): the email waits in the retry "
            "schedule, by kind",
            ["kind"],
            registry=registry,
        )
        self.retried = Counter(
            "emails_retried",
            "Attempts made again from the retry schedule, by kind",
            ["kind"],
            registry=registry,
        )

    def recorded(self, outcome: object) -> None:
        """An attempt's record: EmailSent, EmailDeferred or EmailFailed."""
        kind = str(getattr(outcome, "kind", "unknown"))
        if isinstance(outcome, EmailSent):
            self.sent.labels(kind).inc()
        elif isinstance(outcome, EmailFailed):
            self.failed.labels(kind).inc()
        elif isinstance(outcome, EmailDeferred):
            self.deferred.labels(kind).inc()

    def attempted(self, kind: str, number: int) -> None:
        if number > 1:
            self.retried.labels(kind).inc()


EMAILS = EmailMetrics(METRICS.registry)
