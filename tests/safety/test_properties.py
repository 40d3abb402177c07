"""Properties over random proposals: evaluate never raises, and `allowed` agrees with an independent
statement of the floor, step, peak and limits-vs-requests rules (built-in policy)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ..builders import resources, rr_spec, workload
from .safety_checks import run

MI = 1024 * 1024
millicores = st.integers(min_value=1, max_value=8000)
mebibytes = st.integers(min_value=1, max_value=8192)


def independent_verdict(live_cpu: int, live_mem: int, cpu: int, mem: int, limit: int, peak: int) -> bool:
    """The built-in rules restated: floors 10m/100Mi, -50%..4x steps, memory >= peak, limit >= request."""
    if cpu < 10 or mem < 100 or limit < 100:
        return False
    if not (Decimal(live_cpu) / 2 <= cpu <= 4 * live_cpu):
        return False
    if not (Decimal(live_mem) / 2 <= mem <= 4 * live_mem and Decimal(live_mem) / 2 <= limit <= 4 * live_mem):
        return False
    return mem >= peak and limit >= peak and limit >= mem


@settings(max_examples=300, deadline=None)
@given(
    live_cpu=millicores, live_mem=mebibytes, cpu=millicores, mem=mebibytes, limit=mebibytes, peak=mebibytes
)
def test_allowed_matches_the_rules(
    live_cpu: int, live_mem: int, cpu: int, mem: int, limit: int, peak: int
) -> None:
    live = workload(
        containers={
            "app": resources(cpu=f"{live_cpu}m", memory=f"{live_mem}Mi", memory_limit=f"{live_mem}Mi")
        },
        replicas=3,
    )
    proposed = resources(cpu=f"{cpu}m", memory=f"{mem}Mi", memory_limit=f"{limit}Mi")
    report = run(rr_spec(proposed, peak=f"{peak}Mi"), live)
    assert report.allowed is independent_verdict(live_cpu, live_mem, cpu, mem, limit, peak), report.findings
    assert (report.risk == "critical") is (not report.allowed)
