"""Campaign names and storage paths: what every backend can use, refused early with the reason."""

from __future__ import annotations

import pytest

from hpo_operator.campaign.manifest import parse_campaign

from tests.support.campaigns import campaign, problems


def test_names_kuberay_would_reject_are_refused_up_front():
    assert parse_campaign(campaign("a" * 42)).metadata.name == "a" * 42
    assert "metadata.name" in problems(campaign("a" * 43))  # its RayJob would exceed 47 characters
    assert "metadata.name" in problems(campaign("1st-sweep"))  # a RayJob name starts with a letter
    assert "metadata.name" in problems(campaign("Sweep"))


@pytest.mark.parametrize("storage, expected", [
    ({"path": "s3://bucket/runs"}, "object storage URIs are not supported"),
    ({"path": "runs", "volumeClaim": "hpo-runs"}, "must be an absolute path"),
    ({"path": "runs"}, "must be an absolute path"),
])
def test_storage_must_be_a_shared_absolute_directory(storage, expected):
    found = problems(campaign(storage=storage))
    assert expected in found["spec.storage.path"]


def test_an_absolute_storage_path_with_a_claim_is_accepted():
    storage = parse_campaign(campaign(storage={"path": "/mnt/hpo", "volumeClaim": "c"})).spec.storage
    assert (storage.path, storage.volume_claim) == ("/mnt/hpo", "c")
