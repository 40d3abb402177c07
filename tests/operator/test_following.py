"""Which RRs the workload watch wakes: those marked following a workload, until they settle."""

from __future__ import annotations

from krr_operator.following import Following


def test_an_rr_follows_one_workload_until_it_settles() -> None:
    following = Following()
    following.follow("shop", "Deployment", "web", "web-1")
    following.follow("shop", "Deployment", "web", "web-2")
    following.follow("other", "Deployment", "web", "web-1")  # another namespace: another RR
    assert following.rrs_of("shop", "Deployment", "web") == ["web-1", "web-2"]
    assert following.rrs_of("shop", "StatefulSet", "web") == []  # the kind is part of the workload
    following.settle("shop", "web-1")
    assert following.rrs_of("shop", "Deployment", "web") == ["web-2"]
    assert following.rrs_of("other", "Deployment", "web") == ["web-1"]
    following.settle("shop", "web-1")  # settling twice is harmless
    following.settle("shop", "web-2")
    assert following.rrs_of("shop", "Deployment", "web") == [] and len(following) == 1


def test_an_rr_that_follows_another_workload_leaves_the_first() -> None:
    following = Following()
    following.follow("shop", "Deployment", "web", "rr")
    following.follow("shop", "Deployment", "api", "rr")
    assert following.rrs_of("shop", "Deployment", "web") == []
    assert following.rrs_of("shop", "Deployment", "api") == ["rr"] and len(following) == 1
