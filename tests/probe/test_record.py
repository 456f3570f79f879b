import dataclasses
import json

import pytest

from tests.probe.servers import make_record, steady_stream
from troubleshooter.probe import HeaderSpec, ProbeSpec, spec_problems
from troubleshooter.probe.record import Hop, is_secret_header_name, redact_url


def test_a_records_plain_data_holds_every_field_of_the_record():
    """to_dict is written out field by field for speed: it must not fall behind the dataclasses."""
    reads, events = steady_stream(5, gap=0.1)
    record = make_record(reads=reads, events=events, ending=("reset", 0.8), facts={"gzip_members": 1})
    record.events[0].usage = {"output_tokens": 3}
    record.hops.append(Hop(url="http://a.example/", addresses=["127.0.0.1"], status=302, location="/b"))
    assert json.loads(json.dumps(record.to_dict())) == json.loads(json.dumps(dataclasses.asdict(record)))


def test_the_request_keeps_secret_header_names_but_not_their_values():
    spec = ProbeSpec(
        url="https://api.example/v1",
        headers=(HeaderSpec("X-Team", "a", secret=True), HeaderSpec("Authorization", "Bearer k"), HeaderSpec("Accept-Language", "en")),
    )
    headers = dict(spec.request_info().headers)
    assert headers["X-Team"] == "[secret]"
    assert headers["Authorization"] == "[secret]"
    assert headers["Accept-Language"] == "en"


@pytest.mark.parametrize("name", ["Authorization", "x-api-key", "Api-Key", "Cookie", "X-Auth-Token", "anthropic-api-key", "X-Client-Secret"])
def test_credential_headers_are_secret_even_when_not_marked(name):
    assert is_secret_header_name(name)


def test_urls_lose_passwords_and_credential_query_values():
    assert redact_url("https://user:pw@api.example/v1?api_key=abc&model=x") == "https://user:[secret]@api.example/v1?api_key=[secret]&model=x"
    assert redact_url("https://api.example/v1?model=x") == "https://api.example/v1?model=x"


def test_the_record_url_is_redacted():
    assert ProbeSpec(url="https://api.example/s?token=t0p").request_info().url == "https://api.example/s?token=[secret]"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (ProbeSpec(url="ftp://example.com/"), "unsupported scheme"),
        (ProbeSpec(url="https://api.example/", format="xml"), "unknown format"),
        (ProbeSpec(url="https://api.example/", json_body={"a": 1}, text_body="b"), "not both"),
        (ProbeSpec(url="https://api.example/", method="GE T"), "not an HTTP method"),
        (ProbeSpec(url="https://api.example/", headers=(HeaderSpec("X-A", "b\r\nInjected: 1"),)), "without control characters"),
        (ProbeSpec(url="https://api.example/", json_body={1, 2}), "JSON"),
    ],
)
def test_spec_problems_are_explained_before_anything_is_sent(spec, problem):
    assert any(problem in message for message in spec_problems(spec))


def test_a_good_spec_has_no_problems():
    spec = ProbeSpec(url="https://api.example/v1/chat", method="POST", json_body={"stream": True}, format="openai")
    assert spec_problems(spec) == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.example/v1;api_key=abc123/chat", "https://api.example/v1;api_key=[secret]/chat"),
        ("https://app.example/cb#access_token=eyJhbGciOi.abc&state=x",
         "https://app.example/cb#access_token=[secret]&state=x"),
        ("https://api.example/x?code=abc1&session=s3cr3t&sk=sk-1234&jwt=eyJ0eXAi&pass=hunter22&model=m",
         "https://api.example/x?code=[secret]&session=[secret]&sk=[secret]&jwt=[secret]&pass=[secret]&model=m"),
        ("https://api.telegram.org/bot123456:ABCdefGhIJKlmNoPQRstuVWXyz012345678/sendMessage",
         "https://api.telegram.org/[secret]/sendMessage"),
        ("https://hooks.example/services/T000/B000/aBcD1234eFgH5678iJkL9012",
         "https://hooks.example/services/T000/B000/[secret]"),
        ("https://llm.example/v1/sk-proj-abcdefghijklmnop1234/models", "https://llm.example/v1/[secret]/models"),
        ("https://llm.example/runs/6f1c2a7e-3b44-4d8e-9a51-0c2d7e5f9b13/", "https://llm.example/runs/6f1c2a7e-3b44-4d8e-9a51-0c2d7e5f9b13/"),
        ("https://api.example/v1/chat/completions?model=gpt-4o-mini&stream=true",
         "https://api.example/v1/chat/completions?model=gpt-4o-mini&stream=true"),
    ],
)
def test_credentials_anywhere_in_a_url_are_redacted(url, shown):
    assert redact_url(url) == shown


def test_every_credential_a_url_carries_is_blanked_if_the_target_echoes_it():
    spec = ProbeSpec(url="https://api.example/v1;api_key=matrix-key/sk-proj-abcdefghijklmnop1234?session=s3cr3t#jwt=eyJ0eXAi")
    assert set(spec.secret_values()) >= {"matrix-key", "sk-proj-abcdefghijklmnop1234", "s3cr3t", "eyJ0eXAi"}
