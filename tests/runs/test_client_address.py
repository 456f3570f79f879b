"""Per-client limits count the address the deployment's own proxies saw, never one the
client wrote into X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from troubleshooter.runs.views import client_address, client_key


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/runs/new/", **extra)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "6.6.6.6", "203.0.113.7"),  # no proxy configured: the header is the client's word
        (1, "10.0.0.2", "203.0.113.7", "203.0.113.7"),  # nginx appended the client's address
        (1, "10.0.0.2", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # a forged entry to the left is ignored
        (2, "10.0.0.3", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # a CDN, then nginx
        (2, "10.0.0.3", "203.0.113.7", "203.0.113.7"),  # fewer hops than proxies: the leftmost there is
        (1, "10.0.0.2", None, "10.0.0.2"),  # nothing forwarded: the peer itself
    ],
)
def test_the_client_is_the_address_the_last_trusted_proxy_saw(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_address(request_from(remote, forwarded)) == expected


def test_a_forged_forwarded_for_does_not_make_a_new_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    honest = client_key(request_from("10.0.0.2", "203.0.113.7"))
    forged = [client_key(request_from("10.0.0.2", f"198.51.100.{n}, 203.0.113.7")) for n in range(5)]
    assert set(forged) == {honest}
