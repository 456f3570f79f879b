"""The lab's endpoints: bounded parameters, and off when the lab is turned off."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_lab_rejects_parameters_out_of_bounds(client):
    response = client.get("/lab/sse/healthy/?chunks=999999")
    assert response.status_code == 400
    assert "between 1 and 200000" in response.json()["error"]


def test_the_lab_is_off_when_disabled(client, settings):
    settings.LAB_ENABLED = False
    assert client.get("/lab/").status_code == 404
