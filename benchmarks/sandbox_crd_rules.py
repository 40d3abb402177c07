"""What the sandbox's CRD enforcement costs per ResourceRecommendation write: schema defaults and the
x-kubernetes-validations rules (create: no oldSelf; update: with oldSelf), in process, no HTTP.

    ./uvw run python benchmarks/sandbox_crd_rules.py [--count N]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from krr_mcp.api.resource_recommendation import ResourceRecommendation
from krr_mcp.sandbox.celrules import RULES
from krr_mcp.sandbox.validation import apply_defaults

CRD = Path(__file__).resolve().parents[1] / "crds" / "resourcerecommendations.krr-mcp.io.yaml"


def rr() -> dict[str, Any]:
    return ResourceRecommendation.model_validate(
        {
            "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {
                "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "containers": [
                    {
                        "name": f"c{n}",
                        "current": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                        "proposed": {
                            "requests": {"cpu": "250m", "memory": "384Mi"},
                            "limits": {"memory": "1Gi"},
                        },
                    }
                    for n in range(3)
                ],
                "evidence": {"source": "krr"},
                "reason": "benchmark",
                "approved": True,
                "approvedBy": "alice",
            },
        }
    ).model_dump(mode="json", exclude_none=True)


def timed(count: int, fn: Callable[[], object]) -> tuple[float, float]:
    """(calls per second, microseconds per call)."""
    fn()  # compile the rules once, outside the timing
    start = time.perf_counter()
    for _ in range(count):
        fn()
    elapsed = time.perf_counter() - start
    return count / elapsed, elapsed / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    count = parser.parse_args().count
    schema = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    new, old = rr(), rr()
    old["spec"]["rollbackRequested"] = False
    new["spec"]["rollbackRequested"] = True
    rows = [
        ("defaults (3 containers)", timed(count, lambda: apply_defaults(copy.deepcopy(new), schema))),
        ("rules on create", timed(count, lambda: RULES.violations(new, schema))),
        ("rules on update (oldSelf)", timed(count, lambda: RULES.violations(new, schema, old))),
    ]
    print("| operation | count | per second | µs per call |\n|---|---|---|---|")
    for name, (rate, micros) in rows:
        print(f"| {name} | {count:,} | {rate:,.0f} | {micros:,.0f} |")


if __name__ == "__main__":
    main()
