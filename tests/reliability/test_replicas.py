"""Two operator replicas with kopf peering: exactly one acts; when it stops, the other takes over."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml

from .faults import app_resources
from .scenes import NS, PROPOSED, Scene, assert_applied_once_with_full_audit
from .world import deployment

PEERING = Path(__file__).with_name("kopf_peering_crds.yaml")


class Recorder:
    """A reconcile hook that records which replica reached each stage of a change."""

    def __init__(self, replica: str, seen: list[tuple[str, str]]) -> None:
        self.replica = replica
        self.seen = seen

    def __call__(self, stage: str, rr: dict[str, Any]) -> None:
        self.seen.append((self.replica, stage))


def test_two_replicas_only_one_acts(scene: Scene) -> None:
    docs = list(yaml.safe_load_all(PEERING.read_text()))
    scene.sandbox.apply(*docs[:2])
    scene.sandbox.apply(docs[2])
    seen: list[tuple[str, str]] = []
    replicas = {}
    with contextlib.ExitStack() as running:
        # Each process draws its own peering priority (OperatorConfig's default); here: two distinct ones.
        for priority, name in enumerate(("a", "b"), start=1):
            replicas[name] = running.enter_context(
                scene.operator(standalone=False, peering_priority=priority, hook=Recorder(name, seen))
            )
        scene.propose()
        scene.approve()
        applied = scene.settle("Applied")
        assert_applied_once_with_full_audit(scene, applied)
        actors = {replica for replica, _ in seen}
        assert len(actors) == 1 and [stage for _, stage in seen] == ["snapshot-stored", "workload-patched"], (
            seen
        )

        # The active replica stops; the other one takes over the next approval.
        (active,) = actors
        replicas.pop(active).kill()
        scene.sandbox.apply(deployment(NS, "api"))
        scene.propose("api-rr", "api")
        scene.approve("api-rr", "bob")
        scene.settle("Applied", "api-rr", "api", timeout=30)
        (other,) = replicas
        assert (other, "workload-patched") in seen, seen
        assert app_resources(scene.workload("api")) == PROPOSED
