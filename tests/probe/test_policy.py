import asyncio
import ipaddress
import ssl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.probe.servers import FAST, RawHTTPServer, openai_stream, redirect
from troubleshooter.probe import HeaderSpec, OutboundPolicy, ProbeSpec, diagnose, run_probe
from troubleshooter.probe.policy import (
    PinnedNetworkBackend,
    PinnedTransport,
    TargetRefused,
    TargetUnresolvable,
    address_verdict,
    check_target,
    embedded_ipv4_addresses,
    parse_numeric_host,
)

OPEN = OutboundPolicy(allow_private=True)
STRICT = OutboundPolicy(allow_private=False)


def sdk_client(policy: OutboundPolicy, resolver) -> httpx.AsyncClient:
    """An httpx client as the LangChain experiment hands one to the SDK."""
    return httpx.AsyncClient(transport=PinnedTransport(PinnedNetworkBackend(policy, resolver)), trust_env=False)


def verdict(address: str, policy: OutboundPolicy = OPEN):
    return address_verdict(ipaddress.ip_address(address), policy)


class StubResolver:
    """Answers from a table and counts lookups; never touches DNS."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError(-2, "Name or service not known")
        return self.answers[host]


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192", "fd20:ce::254", "168.63.129.16"],
)
def test_it_refuses_cloud_metadata_addresses_even_when_private_targets_are_allowed(address):
    result = verdict(address, OPEN)
    assert not result.allowed
    assert "metadata" in result.reason or "Azure" in result.reason


def test_it_refuses_the_aws_metadata_address():
    assert not verdict("169.254.169.254").allowed


@pytest.mark.parametrize("address", ["169.254.1.1", "fe80::1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "ff02::1", "240.0.0.1", "255.255.255.255", "::"])
def test_it_always_refuses_link_local_unspecified_multicast_and_reserved(address):
    assert not verdict(address, OPEN).allowed


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12::1"])
def test_private_and_loopback_addresses_follow_the_allow_private_flag(address):
    assert verdict(address, OPEN).allowed
    refused = verdict(address, STRICT)
    assert not refused.allowed
    assert "not allowed here" in refused.reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert verdict(address, STRICT).allowed


def test_an_allowlisted_network_opens_private_space_but_never_metadata():
    policy = OutboundPolicy(allow_private=False, allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    assert verdict("10.20.3.4", policy).allowed
    assert not verdict("10.21.3.4", policy).allowed
    hosted_alibaba = OutboundPolicy(allow_private=False, allowed_networks=(ipaddress.ip_network("100.64.0.0/10"),))
    assert not verdict("100.100.100.200", hosted_alibaba).allowed


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1", "0x7f.1", "[::ffff:127.0.0.1]"])
def test_numeric_spellings_of_loopback_are_understood(spelling):
    parsed = parse_numeric_host(spelling)
    assert parsed is not None
    assert not address_verdict(parsed, STRICT).allowed
    assert ipaddress.ip_address("127.0.0.1") in [parsed, *embedded_ipv4_addresses(parsed)]


@pytest.mark.parametrize("spelling", ["2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518"])
def test_numeric_spellings_of_the_metadata_address_are_refused(spelling):
    assert parse_numeric_host(spelling) == ipaddress.ip_address("169.254.169.254")


@pytest.mark.parametrize("name", ["example.com", "1.2.3.4.5", "0x", "256.1.1.1", "08.0.0.1", "1e3", ""])
def test_names_and_impossible_numbers_are_not_numeric_hosts(name):
    assert parse_numeric_host(name) is None


@pytest.mark.parametrize(
    "wrapped",
    ["::ffff:169.254.169.254", "::ffff:0:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe", "2002:a9fe:a9fe::1", "::a9fe:a9fe"],
)
def test_it_unwraps_ipv4_inside_ipv6_before_checking(wrapped):
    result = verdict(wrapped, OPEN)
    assert not result.allowed
    assert "169.254.169.254" in result.reason


def test_it_checks_both_ipv4_addresses_inside_a_teredo_address():
    # Teredo: server 65.54.227.120, client 169.254.169.254 stored inverted.
    client = int(ipaddress.ip_address("169.254.169.254")) ^ 0xFFFFFFFF
    teredo = ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.ip_address("65.54.227.120")) << 64) | client)
    assert not address_verdict(teredo, OPEN).allowed


def wrap(ipv4: ipaddress.IPv4Address, form: str) -> ipaddress.IPv6Address:
    value = int(ipv4)
    if form == "mapped":
        return ipaddress.IPv6Address((0xFFFF << 32) | value)
    if form == "6to4":
        return ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | 1)
    if form == "teredo":
        return ipaddress.IPv6Address((0x20010000 << 96) | (value << 64) | (value ^ 0xFFFFFFFF))
    if form == "nat64":
        return ipaddress.IPv6Address((0x0064FF9B << 96) | value)
    if form == "nat64-local":
        return ipaddress.IPv6Address((0x0064FF9B0001 << 80) | value)
    raise AssertionError(form)


@given(
    st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address),
    st.sampled_from(["mapped", "6to4", "teredo", "nat64", "nat64-local"]),
    st.sampled_from([OPEN, STRICT]),
)
@settings(max_examples=500, deadline=None)
def test_any_ipv4_gets_the_same_verdict_bare_or_wrapped(ipv4, form, policy):
    assert address_verdict(wrap(ipv4, form), policy).allowed == address_verdict(ipv4, policy).allowed


def check(url: str, resolver: StubResolver, policy: OutboundPolicy = OPEN):
    return asyncio.run(check_target(url, policy, resolver))


def test_one_bad_address_among_the_answers_refuses_the_host():
    resolver = StubResolver({"mixed.example": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(TargetRefused, match="169.254.169.254"):
        check("https://mixed.example/v1", resolver)


def test_metadata_host_names_are_refused_without_asking_dns():
    resolver = StubResolver({})
    with pytest.raises(TargetRefused, match="metadata"):
        check("http://metadata.google.internal/computeMetadata/v1/", resolver)
    assert resolver.lookups == []


def test_a_numeric_host_is_checked_without_asking_dns():
    resolver = StubResolver({})
    with pytest.raises(TargetRefused):
        check("http://0xa9fea9fe/latest/meta-data/", resolver)
    assert resolver.lookups == []


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost", "not a url", "http://[::1/"])
def test_unsupported_schemes_and_malformed_urls_are_refused(url):
    with pytest.raises(TargetRefused):
        check(url, StubResolver({}))


def test_a_host_that_does_not_resolve_is_unresolvable_not_refused():
    with pytest.raises(TargetUnresolvable):
        check("https://nowhere.example/", StubResolver({}))


def test_a_checked_target_keeps_the_host_and_the_addresses_to_connect_to():
    target = check("https://api.example:8443/v1", StubResolver({"api.example": ["93.184.216.34", "2606:2800::1"]}))
    assert (target.host, target.port, target.addresses) == ("api.example", 8443, ("93.184.216.34", "2606:2800::1"))


def test_a_probe_of_a_refused_target_ends_blocked_without_connecting():
    resolver = StubResolver({"intranet.example": ["10.0.0.5"]})
    record = asyncio.run(run_probe(ProbeSpec(url="http://intranet.example/"), FAST, policy=STRICT, resolver=resolver))
    assert record.ending.kind == "blocked"
    assert "private" in record.ending.reason
    assert record.reads == [] and record.status is None
    assert diagnose(record).outcome == "blocked"


def test_a_probe_of_an_unsupported_scheme_ends_blocked():
    record = asyncio.run(run_probe(ProbeSpec(url="ftp://example.com/file"), FAST, resolver=StubResolver({})))
    assert record.ending.kind == "blocked"
    assert "ftp" in record.ending.reason


def test_it_connects_to_the_checked_address_and_keeps_the_host_name_for_the_host_header():
    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["hi"])}) as server:
            resolver = StubResolver({"api.example.test": ["127.0.0.1"]})
            record = await run_probe(ProbeSpec(url=f"http://api.example.test:{server.port}/"), FAST, resolver=resolver)
            return record, server.requests, server.port

    record, requests, port = asyncio.run(scenario())
    assert record.ending.kind == "terminal-event"
    assert requests[0].headers["host"] == f"api.example.test:{port}"
    assert record.hops[0].addresses == ["127.0.0.1"]


def test_it_resolves_once_so_a_rebinding_dns_answer_cannot_swap_the_address():
    class RebindingResolver(StubResolver):
        async def __call__(self, host: str, port: int) -> list[str]:
            self.lookups.append(host)
            return ["127.0.0.1"] if len(self.lookups) == 1 else ["169.254.169.254"]

    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["hi"])}) as server:
            resolver = RebindingResolver({})
            record = await run_probe(ProbeSpec(url=f"http://rebind.example:{server.port}/"), FAST, resolver=resolver)
            return record, resolver

    record, resolver = asyncio.run(scenario())
    assert record.ending.kind == "terminal-event"
    assert resolver.lookups == ["rebind.example"]


def test_a_redirect_to_a_refused_address_is_blocked_at_that_hop():
    async def scenario():
        async with RawHTTPServer({"/": redirect("http://metadata.example/latest/meta-data/")}) as server:
            resolver = StubResolver({"metadata.example": ["169.254.169.254"]})
            return await run_probe(ProbeSpec(url=server.url("/")), FAST, resolver=resolver)

    record = asyncio.run(scenario())
    assert record.ending.kind == "blocked"
    assert [hop.status for hop in record.hops] == [302]
    assert "169.254.169.254" in record.ending.reason


def test_more_than_five_redirects_end_the_run():
    async def scenario():
        async with RawHTTPServer({"/loop": redirect("/loop")}) as server:
            return await run_probe(ProbeSpec(url=server.url("/loop")), FAST)

    record = asyncio.run(scenario())
    assert record.ending.kind == "http-error"
    assert "redirects" in record.ending.reason
    assert len(record.hops) == 6


def test_secret_headers_are_not_sent_to_another_origin_after_a_redirect():
    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["hi"])}) as other:
            async with RawHTTPServer({"/": redirect(other.url("/"), 307)}) as first:
                headers = (HeaderSpec("Authorization", "Bearer sk-live"), HeaderSpec("X-Trace", "t1"))
                spec = ProbeSpec(url=first.url("/"), headers=headers)
                record = await run_probe(spec, FAST)
                return record, first.requests, other.requests

    record, first_requests, other_requests = asyncio.run(scenario())
    assert record.ending.kind == "terminal-event"
    assert first_requests[0].headers["authorization"] == "Bearer sk-live"
    assert "authorization" not in other_requests[0].headers
    assert other_requests[0].headers["x-trace"] == "t1"


def test_proxies_from_the_environment_are_ignored(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")

    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["hi"])}) as server:
            return await run_probe(ProbeSpec(url=server.url("/")), FAST)

    assert asyncio.run(scenario()).ending.kind == "terminal-event"


def test_a_client_for_sdks_checks_every_host_it_connects_to():
    async def scenario():
        resolver = StubResolver({"sneaky.example": ["169.254.169.254"]})
        async with sdk_client(OPEN, resolver) as client:
            await client.get("http://sneaky.example/")

    with pytest.raises(TargetRefused):
        asyncio.run(scenario())


def test_a_client_for_sdks_connects_to_allowed_hosts_by_their_checked_address():
    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["hi"])}) as server:
            resolver = StubResolver({"fine.example": ["127.0.0.1"]})
            async with sdk_client(OPEN, resolver) as client:
                response = await client.get(f"http://fine.example:{server.port}/")
            return response, server.requests

    response, requests = asyncio.run(scenario())
    assert response.status_code == 200
    assert requests[0].headers["host"].startswith("fine.example")
    assert isinstance(response, httpx.Response)


@given(st.text(alphabet="0123456789abcdefxX.", max_size=24))
@settings(max_examples=1000, deadline=None)
def test_numeric_hosts_are_read_exactly_as_the_c_library_reads_them(text):
    import socket

    # A single trailing dot is the DNS root and names the same host.
    without_root = text[:-1] if text.endswith(".") else text
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(without_root))
    except OSError:
        expected = None
    assert parse_numeric_host(text) == expected


def self_signed_tls(host: str, tmp_path) -> ssl.SSLContext:
    import datetime
    import ssl

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_file.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def tls_probe(tmp_path, verify_tls: bool):
    server_tls = self_signed_tls("api.example.test", tmp_path)
    names_seen: list[str] = []
    server_tls.sni_callback = lambda connection, name, context: names_seen.append(name)

    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["hi"])}, tls=server_tls) as server:
            resolver = StubResolver({"api.example.test": ["127.0.0.1"]})
            spec = ProbeSpec(url=f"https://api.example.test:{server.port}/", verify_tls=verify_tls)
            return await run_probe(spec, FAST, resolver=resolver)

    return asyncio.run(scenario()), names_seen


def test_tls_to_a_pinned_address_still_names_the_host_the_user_typed(tmp_path):
    record, names_seen = tls_probe(tmp_path, verify_tls=False)
    assert record.ending.kind == "terminal-event"
    assert names_seen == ["api.example.test"]


def test_certificates_are_verified_by_default(tmp_path):
    record, _ = tls_probe(tmp_path, verify_tls=True)
    assert record.ending.kind == "connect-error"
    assert "CERTIFICATE_VERIFY_FAILED" in record.ending.reason


def test_it_probes_the_ipv6_loopback_literal():
    async def scenario():
        try:
            server = RawHTTPServer({"/": openai_stream(["hi"])}, host="::1")
            await server.__aenter__()
        except OSError:
            pytest.skip("no IPv6 loopback here")
        try:
            return await run_probe(ProbeSpec(url=server.url("/")), FAST), server.requests
        finally:
            await server.__aexit__()

    record, requests = asyncio.run(scenario())
    assert record.ending.kind == "terminal-event"
    assert record.hops[0].addresses == ["::1"]
    assert requests[0].headers["host"].startswith("[::1]")
