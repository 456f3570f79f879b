"""A run's socket answers pages of this site only: same host and port, or a trusted origin."""

from __future__ import annotations

import pytest

from troubleshooter.websocket_origin import same_site


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another app on the same host
        ("http://localhost:8000", "127.0.0.1:8000", False),
        ("https://app.example", "app.example", True),  # behind a proxy that passes the host alone
        ("https://app.example:8443", "app.example", False),
        ("http://app.example", "app.example:443", False),
        ("http://evil.example", "evil.example", False),  # not an allowed host
        ("", "127.0.0.1:8000", False),  # no Origin: not a browser page of this site
        ("null", "127.0.0.1:8000", False),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("https://docs.example", "127.0.0.1:8000", True),  # listed in CSRF_TRUSTED_ORIGINS
    ],
)
def test_the_origin_must_be_this_site(settings, origin, host, allowed):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "app.example"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://docs.example"]
    assert same_site(origin, host) is allowed
