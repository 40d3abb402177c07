"""The golden cluster: synthetic history with known samples, for a real Prometheus (see conftest.py).

Times are chosen so no sample sits on a PromQL window edge: samples at t = 7 (mod 60), every evaluation
and window boundary at 0 (mod 15). The expected numbers then do not depend on whether Prometheus'
windows are closed or open, and the test's own computation from the raw samples is exact.
"""

from __future__ import annotations

from krr_mcp.metrics_history import ContainerSpec, HistorySpec, HpaSpec, PodSpec, WorkloadSpec

MIB = 1024 * 1024
EVAL_AT = 1_764_000_015  # multiple of 15, = 15 (mod 75): the subquery's range start is no step point
END = EVAL_AT - 68  # last sample, 7 (mod 60)
START = END - 10 * 3600  # 10 h of samples; scans look at the last 8 h
HISTORY_HOURS = 8
H = 3600


def _pod(name: str, kind: str, owner: str, start: int = START, end: int = END) -> PodSpec:
    return PodSpec(name=name, owner_kind=kind, owner_name=owner, start=start, end=end)


def _c(name: str, cpu: float, mem_mib: float, **kw: object) -> ContainerSpec:
    mem, amp = mem_mib * MIB, mem_mib / 5 * MIB
    return ContainerSpec(name=name, cpu_base=cpu, cpu_amp=cpu / 2, mem_base=mem, mem_amp=amp, **kw)  # type: ignore[arg-type]


def golden_spec() -> HistorySpec:
    req = {"cpu": 0.1, "memory": 128.0 * MIB}
    lim = {"cpu": 0.5, "memory": 256.0 * MIB}
    workloads = (
        WorkloadSpec(
            "shop", "Deployment", "web",
            containers=(_c("nginx", 0.02, 40, requests=req, limits=lim),
                        _c("app", 0.3, 600, requests={"cpu": 1.0, "memory": 1024.0 * MIB},
                           limits={"cpu": None, "memory": 1024.0 * MIB})),
            pods=(_pod("web-5c7d9f8b6d-4xk2p", "ReplicaSet", "web-5c7d9f8b6d"),
                  _pod("web-5c7d9f8b6d-q8wzn", "ReplicaSet", "web-5c7d9f8b6d")),
            controllers={"web-5c7d9f8b6d": (START, END)},
            labels={"app": "web", "team": "storefront"},
        ),
        WorkloadSpec(
            "shop", "Deployment", "worker",
            containers=(_c("worker", 0.4, 900, duplicate_series=True),),  # krr's max by matters
            pods=(_pod("worker-7b8c6d5f4-m2r7t", "ReplicaSet", "worker-7b8c6d5f4"),),
            controllers={"worker-7b8c6d5f4": (START, END)},
            labels={"app": "worker", "team": "storefront"},
        ),
        WorkloadSpec(  # rolled out twice: the oldest pod ended before the 8 h window, the old one inside it
            "billing", "Deployment", "api",
            containers=(_c("api", 0.06, 210, requests={"cpu": 0.5, "memory": 512.0 * MIB},
                           limits={"cpu": 1.0, "memory": 512.0 * MIB}),),
            pods=(_pod("api-5b6c7d8e9-aaaaa", "ReplicaSet", "api-5b6c7d8e9", START, START + H),
                  _pod("api-6d5f7c9b8-zt9k4", "ReplicaSet", "api-6d5f7c9b8", START + H, START + 4 * H),
                  _pod("api-7f9c8d6b5-h6v3x", "ReplicaSet", "api-7f9c8d6b5", START + 4 * H, END)),
            controllers={"api-5b6c7d8e9": (START, END), "api-6d5f7c9b8": (START, END),
                         "api-7f9c8d6b5": (START + 4 * H, END)},
            labels={"app": "api"},
        ),
        WorkloadSpec(
            "data", "StatefulSet", "db",
            containers=(_c("postgres", 0.8, 1500, requests={"cpu": 2.0, "memory": 4096.0 * MIB},
                           limits={"cpu": None, "memory": 4096.0 * MIB}),),
            pods=(_pod("db-0", "StatefulSet", "db"),),
        ),
        WorkloadSpec(
            "monitoring", "DaemonSet", "agent",
            containers=(_c("agent", 0.005, 30, requests={"cpu": 0.05, "memory": 64.0 * MIB},
                           limits={"cpu": None, "memory": 64.0 * MIB}),),
            pods=(_pod("agent-x1b2c", "DaemonSet", "agent"), _pod("agent-z9y8w", "DaemonSet", "agent")),
        ),
        WorkloadSpec(  # an HPA scales it on CPU: krr gives no CPU value ("HPA detected")
            "shop", "Deployment", "frontend",
            containers=(_c("frontend", 0.2, 300, requests={"cpu": 0.5, "memory": 512.0 * MIB}),),
            pods=(_pod("frontend-6f7d8c9b5-abcde", "ReplicaSet", "frontend-6f7d8c9b5"),),
            controllers={"frontend-6f7d8c9b5": (START, END)},
            hpa=HpaSpec(name="frontend", min_replicas=1, max_replicas=4, target_cpu_utilization=70.0),
        ),
        WorkloadSpec(  # lives 30 min: fewer than 100 points ("Not enough data")
            "shop", "Deployment", "tiny",
            containers=(_c("tiny", 0.1, 200),),
            pods=(_pod("tiny-5d6f7g8h9-k2k2k", "ReplicaSet", "tiny-5d6f7g8h9", END - 1800, END),),
            controllers={"tiny-5d6f7g8h9": (END - 1800, END)},
        ),
        WorkloadSpec(  # two 1 h jobs
            "batch", "CronJob", "report",
            containers=(_c("report", 0.7, 700, requests={"cpu": 1.0, "memory": 1024.0 * MIB}),),
            pods=(_pod("report-29000000-abcde", "Job", "report-29000000", START + 3 * H, START + 4 * H),
                  _pod("report-29000060-fghij", "Job", "report-29000060", START + 6 * H, START + 7 * H)),
            controllers={"report-29000000": (START + 3 * H, END), "report-29000060": (START + 6 * H, END)},
        ),
        WorkloadSpec(  # OOMKilled at its 256Mi limit: the OOMKill bump raises memory above the peak
            "oom", "Deployment", "leaky",
            containers=(_c("leaky", 0.05, 150, requests={"cpu": 0.1, "memory": 256.0 * MIB},
                           limits={"cpu": None, "memory": 256.0 * MIB}, oom_killed=True),),
            pods=(_pod("leaky-7c8d9e6f5-qwert", "ReplicaSet", "leaky-7c8d9e6f5"),),
            controllers={"leaky-7c8d9e6f5": (START, END)},
        ),
    )  # fmt: skip
    return HistorySpec(workloads=workloads, start=START, end=END, step=60, seed=7)
