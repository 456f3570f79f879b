"""The probe's outbound policy, as this deployment's settings configure it."""

from __future__ import annotations

from django.conf import settings

from troubleshooter.probe import OutboundPolicy


def outbound_policy() -> OutboundPolicy:
    return OutboundPolicy(
        allow_private=settings.PROBE_ALLOW_PRIVATE,
        allowed_networks=tuple(settings.PROBE_ALLOWED_NETWORKS),
    )
