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
