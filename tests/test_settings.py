"""One settings module driven by the environment: embedded by default, hosted on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import ROOT

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "first_app": settings.INSTALLED_APPS[0],
    "asgi": settings.ASGI_APPLICATION,
    "frame_ancestors": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-ancestors"],
    "embed_origins": settings.EMBED_ALLOWED_ORIGINS,
}))
"""


def settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMBED_ALLOWED_ORIGINS"}
    }
    clean["DJANGO_SETTINGS_MODULE"] = "troubleshooter.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_debug_is_off_and_a_secret_key_is_required_by_default():
    result = settings_with()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_the_embedded_default_is_sqlite_and_the_in_memory_layer_served_by_daphne():
    result = settings_with(SECRET_KEY="x" * 50)
    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["layer"] == "troubleshooter.channel_layer.InMemoryChannelLayer"
    assert values["first_app"] == "daphne"
    assert values["asgi"] == "troubleshooter.asgi.application"


def test_debug_on_needs_no_secret_key():
    assert json.loads(settings_with(DEBUG="1").stdout)["debug"] is True


def test_database_url_and_redis_url_switch_to_the_hosted_parts():
    values = json.loads(
        settings_with(
            SECRET_KEY="x" * 50,
            DATABASE_URL="postgres://someone@127.0.0.1:5432/test",
            REDIS_URL="redis://127.0.0.1:6379/3",
        ).stdout
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "test"
    assert values["layer"] == "channels_redis.core.RedisChannelLayer"
    assert values["layer_hosts"] == [{"address": "redis://127.0.0.1:6379/3", "socket_timeout": None}]


def test_documentation_portals_are_named_in_the_environment_and_no_page_is_framed_by_default():
    values = json.loads(
        settings_with(SECRET_KEY="x" * 50, EMBED_ALLOWED_ORIGINS="https://docs.example.com").stdout
    )
    # Only the /embed/ pages name the portals (tests/guides/test_embed_pages.py).
    assert values["embed_origins"] == ["https://docs.example.com"]
    assert values["frame_ancestors"] == ["'none'"]


def test_pages_carry_a_content_security_policy_without_inline_script(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


WEB_POLICY_VERDICTS = """
import ipaddress, json, django
django.setup()
from troubleshooter.probe.policy import address_verdict
from troubleshooter.runs.outbound import outbound_policy
policy = outbound_policy()
print(json.dumps({
    address: address_verdict(ipaddress.ip_address(address), policy).allowed
    for address in ("10.20.3.4", "10.21.0.1", "127.0.0.1", "169.254.169.254")
}))
"""


def web_policy_with(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL"}}
    clean.update(DJANGO_SETTINGS_MODULE="troubleshooter.settings", SECRET_KEY="x" * 50,
                 REDIS_URL="redis://127.0.0.1:6379/3", **env)
    return subprocess.run([sys.executable, "-c", WEB_POLICY_VERDICTS], cwd=ROOT, env=clean,
                          capture_output=True, text=True)


def test_a_hosted_app_reaches_exactly_the_private_networks_it_lists():
    result = web_policy_with(PROBE_ALLOWED_NETWORKS="10.20.0.0/16")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "10.20.3.4": True, "10.21.0.1": False, "127.0.0.1": False, "169.254.169.254": False,
    }


def test_a_mistyped_allowed_network_stops_the_app_at_start_up_with_the_reason():
    result = web_policy_with(PROBE_ALLOWED_NETWORKS="10.20.0.0/16,10.300.0.0/16")
    assert result.returncode != 0
    assert "PROBE_ALLOWED_NETWORKS: '10.300.0.0/16' is not a network in CIDR form" in result.stderr


def test_a_blank_or_missing_prometheus_folder_stops_the_app_with_the_reason(tmp_path):
    # Set but blank, prometheus_client would write its files into the app's working folder.
    for value in ("", str(tmp_path / "missing")):
        result = settings_with(SECRET_KEY="x" * 50, PROMETHEUS_MULTIPROC_DIR=value)
        assert result.returncode != 0
        assert "PROMETHEUS_MULTIPROC_DIR must name an existing folder" in result.stderr
    assert settings_with(SECRET_KEY="x" * 50, PROMETHEUS_MULTIPROC_DIR=str(tmp_path)).returncode == 0
