"""krr-mcp operator: the ResourceRecommendation API and the controller that applies approved ones.

Data flows one way: proposal -> approval -> change -> history.

- `api/`: the pydantic models (the one schema) and `crdgen` (crds/ is generated from them).
- `workloads`, `rollout`: pure reads of workload objects (containers per kind, rollout state).
- `decisions`: pure `decide(DecisionInputs(rr, workload, now, ...)) -> Decision` (wait, apply, stale, expired,
  supersede, reject, rollback, resume, refuse, follow-rollout, noop).
- `patches`: pure JSON patches with `test` ops, resources of named containers only.
- `safety/`: pure safety rules (shared with the bridge).
- `kube`: the one place that talks to the API server; `audit`: status, log line, Events.
- `reconcile`: write-ahead snapshot -> guarded patch -> outcome; `handlers`: thin kopf handlers;
  `main`: kopf settings and `run`; `dry_run`: the exact patch and the server's dry-run verdict.
"""
