"""Reading the environment: plain Python, no Django.

The settings module reads everything through here, and so does the probe command's fast
path, which measures a stream without starting Django at all; both therefore agree on what
"hosted" means and on the outbound policy.
"""

from __future__ import annotations

import ipaddress
import os

from troubleshooter.probe.policy import IPNetwork, OutboundPolicy


class BadSetting(ValueError):
    """An environment variable holds a value the app cannot use; raised at start-up."""


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def is_hosted() -> bool:
    """Shared by a team: a database server or a Redis channel layer is configured."""
    database_url = os.environ.get("DATABASE_URL", "")
    return bool(os.environ.get("REDIS_URL")) or bool(database_url) and not database_url.startswith("sqlite")


def networks_setting(name: str, ignore: tuple[str, ...] = ()) -> tuple[IPNetwork, ...]:
    """A comma-separated list of networks in CIDR form (a bare address is one host);
    words in `ignore` are read elsewhere."""
    networks = []
    for cidr in env_list(name):
        if cidr in ignore:
            continue
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as error:
            raise BadSetting(f"{name}: {cidr!r} is not a network in CIDR form ({error})") from None
    return tuple(networks)


def allowed_networks() -> tuple[IPNetwork, ...]:
    return networks_setting("PROBE_ALLOWED_NETWORKS")


def outbound_policy() -> OutboundPolicy:
    """Loopback and private addresses are reachable in the embedded default (the user's own
    machine); hosted, only the networks listed in PROBE_ALLOWED_NETWORKS are. Cloud metadata
    and link-local addresses are never reachable, whatever is set."""
    return OutboundPolicy(
        allow_private=env_flag("PROBE_ALLOW_PRIVATE", default=not is_hosted()),
        allowed_networks=allowed_networks(),
    )
