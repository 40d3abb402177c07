"""Single demo steps against a sandbox with no operator: the demo says what is missing, quickly."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest
import yaml
from rich.console import Console

from krr_mcp.demo.cluster import DemoCluster
from krr_mcp.demo.human import Human
from krr_mcp.demo.narrator import Narrator, StepFailed
from krr_mcp.demo.options import DemoOptions
from krr_mcp.demo.walkthrough import Walkthrough

from ..plugin.test_plugin_sandbox import RR_NAME, rr_manifest


async def test_review_without_an_operator_says_so(seeded_sandbox: Any) -> None:
    kubeconfig = str(seeded_sandbox.kubeconfig)
    assert seeded_sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(rr_manifest())).returncode == 0
    console = Console(record=True, width=200)
    narrator = Narrator(console, total_steps=1)
    with ExitStack() as stack:
        walk = Walkthrough(narrator, DemoOptions(kubeconfig=kubeconfig, timeout=2), stack)
        state = walk.state
        state.kubeconfig, state.cluster = kubeconfig, DemoCluster(kubeconfig)
        state.human = Human(narrator, kubeconfig)
        state.rr_namespace, state.rr_name = "shop", RR_NAME
        state.chosen = [{"namespace": "shop", "kind": "Deployment", "name": "web", "container": "web"}]
        with pytest.raises(StepFailed, match="no operator wrote the proposal's status"):
            await walk.review()
    assert "FAILED A human reviews" in console.export_text()
