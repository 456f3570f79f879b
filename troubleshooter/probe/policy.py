"""The outbound policy: which targets a probe may connect to, and how.

Users type URLs; the app fetches them from inside its own network. So a probe
must never become a way to reach cloud metadata services or (when hosted)
internal machines. Three rules make that hold:

* the host is resolved once and every address is checked, because an
  attacker's DNS name may return a public and a private address together;
* the connection goes to an address that was checked (the pinned backend
  below), never to a fresh DNS answer, so a rebinding DNS server cannot swap
  the address between check and connect;
* redirects are followed by the engine itself, and each hop is checked again.

Address checks are pure functions over `ipaddress` objects so they can be
tested without touching the network.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx

from .transport import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A resolver takes (host, port) and returns address strings. Tests pass a stub;
# production uses the event loop's getaddrinfo.
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https", "ws", "wss"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
MAX_REDIRECTS = 5


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Instance metadata endpoints. Most sit in link-local space and would be
# refused anyway, but some do not (Alibaba's is in 100.64/10, Azure's
# wireserver is a public address, AWS and GCP have IPv6 ones in fd00::/8),
# and "allow private" must never open them.
METADATA_ADDRESSES: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata service (AWS, GCP, Azure, OCI, DigitalOcean, ...)",
    ipaddress.ip_address("169.254.170.2"): "AWS ECS task metadata service",
    ipaddress.ip_address("169.254.169.253"): "AWS VPC DNS resolver",
    ipaddress.ip_address("169.254.169.123"): "AWS time sync service",
    ipaddress.ip_address("169.254.0.23"): "Tencent Cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "AWS metadata service (IPv6)",
    ipaddress.ip_address("fd00:ec2::253"): "AWS VPC DNS resolver (IPv6)",
    ipaddress.ip_address("fd20:ce::254"): "GCP metadata service (IPv6)",
    ipaddress.ip_address("100.100.100.200"): "Alibaba Cloud metadata service",
    ipaddress.ip_address("192.0.0.192"): "Oracle Cloud metadata service",
    ipaddress.ip_address("168.63.129.16"): "Azure platform (wireserver) endpoint",
}

# Names that resolve to metadata services inside a cloud. A stub or a
# different resolver could answer anything for them, so they are refused by
# name as well.
METADATA_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)

# Never useful targets, whatever the settings say.
ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = (
    *((net, "link-local address") for net in _networks("169.254.0.0/16", "fe80::/10")),
    *((net, "'this network' address") for net in _networks("0.0.0.0/8", "::/128")),
    *((net, "multicast address") for net in _networks("224.0.0.0/4", "ff00::/8")),
    *(
        (net, "reserved address")
        for net in _networks(
            "240.0.0.0/4",  # includes the broadcast address
            "192.0.0.0/24",  # IETF protocol assignments
            "192.0.2.0/24",  # documentation
            "198.51.100.0/24",
            "203.0.113.0/24",
            "2001:db8::/32",
            "100::/64",  # discard-only
            "::/8",  # what is left of it after unwrapping IPv4-compatible forms
        )
    ),
)

# Allowed only when the policy allows private targets (the embedded default,
# where the user's own app on localhost is the point).
PRIVATE: tuple[tuple[IPNetwork, str], ...] = (
    *((net, "loopback address") for net in _networks("127.0.0.0/8", "::1/128")),
    *(
        (net, "private address")
        for net in _networks(
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
            "fec0::/10",  # deprecated site-local, still routed by some stacks
            "198.18.0.0/15",  # benchmarking, in practice lab networks
        )
    ),
    *((net, "shared (carrier-grade NAT) address") for net in _networks("100.64.0.0/10")),
)

_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV6_LEGACY_BLOCK = ipaddress.ip_network("::/8")
_IPV6_LOOPBACK = ipaddress.ip_address("::1")


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private: bool = True
    # Hosted mode refuses private ranges but may name a few internal networks
    # that support staff are allowed to probe. Metadata stays refused.
    allowed_networks: tuple[IPNetwork, ...] = ()
    max_redirects: int = MAX_REDIRECTS
    resolve_timeout: float = 10.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class Target:
    """A URL that passed the policy, with the addresses it may connect to."""

    url: str
    scheme: str
    host: str  # as written in the URL (used for Host, SNI and certificates)
    port: int
    addresses: tuple[str, ...] = field(default_factory=tuple)


class TargetRefused(Exception):
    """The policy refused a target. Carries the reason users will read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TargetUnresolvable(Exception):
    """DNS gave no usable answer; that is a connect error, not a refusal."""


# --- numeric host spellings ---------------------------------------------------

_NUMERIC_PART = re.compile(r"^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")


def parse_numeric_host(host: str) -> IPAddress | None:
    """Read a host the way the C library's inet_aton would, or as IPv6.

    `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all mean 127.0.0.1 to
    getaddrinfo, so a check that only understands dotted quads could be
    walked around. Returns None for names that are not numeric.
    """
    candidate = host.strip()
    candidate = candidate[:-1] if candidate.endswith(".") else candidate  # the DNS root
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    candidate = candidate.split("%", 1)[0]  # an IPv6 zone id does not change the address
    if ":" in candidate:
        try:
            return ipaddress.IPv6Address(candidate)
        except ValueError:
            return None
    return _parse_inet_aton(candidate)


def _parse_inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.match(part) for part in parts):
        return None
    try:
        numbers = [_parse_c_integer(part) for part in parts]
    except ValueError:
        return None
    *leading, last = numbers
    if any(number > 0xFF for number in leading):
        return None
    # The last part fills all remaining bytes: "127.1" is 127.0.0.1.
    if last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_c_integer(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part, 10)


# --- unwrapping IPv4 carried inside IPv6 --------------------------------------


def embedded_ipv4_addresses(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that an IPv6 address delivers traffic to.

    A packet to ::ffff:169.254.169.254 or 64:ff9b::a9fe:a9fe reaches
    169.254.169.254; the check must judge the IPv4 address inside.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _IPV4_MAPPED or address in _IPV4_TRANSLATED:
        return [low32]
    if address in _NAT64_WELL_KNOWN or address in _NAT64_LOCAL_USE:
        # For 64:ff9b:1::/48 the operator picks the prefix length; /96 is what
        # deployments use, so the address sits in the last 32 bits.
        return [low32]
    if address in _SIX_TO_FOUR:
        return [ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)]
    if address in _TEREDO:
        server, client = address.teredo or (None, None)
        return [ip for ip in (server, client) if ip is not None]
    if address in _IPV4_COMPATIBLE and value > 1:
        # Deprecated ::a.b.c.d; :: and ::1 are themselves, not wrappers.
        return [low32]
    return []


# --- the verdict -------------------------------------------------------------


def address_verdict(address: IPAddress, policy: OutboundPolicy) -> Verdict:
    """Whether `policy` lets us connect to `address`; pure, no network."""
    for candidate in [address, *embedded_ipv4_addresses(address)]:
        verdict = _single_address_verdict(candidate, policy)
        if not verdict.allowed:
            if candidate != address:
                return Verdict(False, f"{verdict.reason} (inside {address})")
            return verdict
    return Verdict(True)


def _single_address_verdict(address: IPAddress, policy: OutboundPolicy) -> Verdict:
    if address in METADATA_ADDRESSES:
        return Verdict(False, f"{address} is a {METADATA_ADDRESSES[address]}, never allowed")
    for network, label in ALWAYS_REFUSED:
        if address.version == network.version and address in network:
            if network == _IPV6_LEGACY_BLOCK and (address == _IPV6_LOOPBACK or embedded_ipv4_addresses(address)):
                continue  # loopback is judged below; wrappers by the IPv4 address inside
            return Verdict(False, f"{address} is a {label}, never allowed")
    for network, label in PRIVATE:
        if address.version == network.version and address in network:
            if policy.allow_private or _in_allowlist(address, policy.allowed_networks):
                return Verdict(True)
            return Verdict(False, f"{address} is a {label}; private targets are not allowed here")
    return Verdict(True)


def _in_allowlist(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def addresses_verdict(addresses: Iterable[IPAddress], policy: OutboundPolicy) -> Verdict:
    """Every address must pass: one bad answer refuses the host."""
    for address in addresses:
        verdict = address_verdict(address, policy)
        if not verdict.allowed:
            return verdict
    return Verdict(True)


def hostname_verdict(host: str) -> Verdict:
    name = host.strip().rstrip(".").lower()
    if name in METADATA_HOSTNAMES:
        return Verdict(False, f"{name} is a cloud metadata host name, never allowed")
    return Verdict(True)


# --- checking a URL ----------------------------------------------------------


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) or TargetRefused with a message people understand."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port
    except ValueError as error:
        raise TargetRefused(f"not a valid URL: {error}") from None
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "no scheme"
        raise TargetRefused(f"unsupported scheme '{shown}': only http, https, ws and wss")
    if not host:
        raise TargetRefused("the URL has no host")
    return scheme, host, port or DEFAULT_PORTS[scheme]


async def check_target(url: str, policy: OutboundPolicy, resolver: Resolver = system_resolver) -> Target:
    """Resolve once, check every address; raise TargetRefused or TargetUnresolvable."""
    scheme, host, port = split_url(url)
    by_name = hostname_verdict(host)
    if not by_name.allowed:
        raise TargetRefused(by_name.reason)
    numeric = parse_numeric_host(host)
    if numeric is not None:
        addresses: list[IPAddress] = [numeric]
    else:
        addresses = await _resolve(host, port, policy, resolver)
    verdict = addresses_verdict(addresses, policy)
    if not verdict.allowed:
        raise TargetRefused(verdict.reason)
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=tuple(str(a) for a in addresses))


async def _resolve(host: str, port: int, policy: OutboundPolicy, resolver: Resolver) -> list[IPAddress]:
    try:
        async with asyncio.timeout(policy.resolve_timeout):
            answers = await resolver(host, port)
    except TimeoutError:
        raise TargetUnresolvable(f"resolving {host} took longer than {policy.resolve_timeout:g} s") from None
    except OSError as error:
        raise TargetUnresolvable(f"could not resolve {host}: {error.strerror or error}") from None
    parsed = [parse_numeric_host(answer) for answer in answers]
    addresses = [address for address in parsed if address is not None]
    if not addresses:
        raise TargetUnresolvable(f"{host} has no usable address")
    return addresses


# --- connecting only to checked addresses ------------------------------------


class PinnedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to checked addresses.

    httpcore asks us to connect to the URL's host name; we connect to an
    address the policy already approved for that name instead. The name stays
    in the URL, so the Host header, TLS SNI and certificate checks are the
    ones for the name the user typed.

    Hosts that were not pinned beforehand (a client that follows its own
    redirects, such as an SDK) are checked on first use and then pinned.
    """

    def __init__(self, policy: OutboundPolicy, resolver: Resolver = system_resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._pins: dict[str, tuple[str, ...]] = {}
        self._inner = AsyncioBackend()

    def pin(self, target: Target) -> None:
        self._pins[_pin_key(target.host)] = target.addresses

    async def _addresses_for(self, host: str, port: int) -> tuple[str, ...]:
        key = _pin_key(host)
        if key not in self._pins:
            scheme = "https" if port == 443 else "http"
            target = await check_target(f"{scheme}://{_bracket(host)}:{port}/", self._policy, self._resolver)
            self._pins[key] = target.addresses
        return self._pins[key]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses_for(host, port)
        last_error: Exception | None = None
        # getaddrinfo may list an address family that is unreachable here
        # (IPv6 first on an IPv4-only host), so try each checked address.
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
                continue
            return stream
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable through the outbound policy")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _pin_key(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@functools.lru_cache(maxsize=2)
def shared_ssl_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per verification mode for every probe: building one loads the CA
    bundle (about 16 ms), which a hundred runs starting at once would spend blocking the
    event loop. A context is safe to share between connections."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool using the pinned backend.

    Subclassing keeps httpx's request/response conversion and exception
    mapping; only the pool is swapped, since httpx has no public parameter for
    a network backend.
    """

    def __init__(self, backend: PinnedNetworkBackend, *, verify: bool = True, max_connections: int = 10) -> None:
        ssl_context = shared_ssl_context(verify)
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            network_backend=backend,
        )
