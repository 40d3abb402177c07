"""krr-mcp operator: the controller that applies approved ResourceRecommendations (import `krr_operator`).

Data flows one way: proposal -> approval -> change -> history. The API types, the pure core (decisions,
patches, workloads, rollout, safety) and the Kubernetes client live in `krr_mcp` (docs/architecture.md);
this package holds only the controller:

- `reconcile`: one RR at a time: gather its inputs (`krr_mcp.kube.decision_inputs`), decide (pure
  `krr_mcp.core.decisions.decide`), then record (`status_patch`: the status fields, pure) or change
  (`write_ahead`: the prior resources recorded in status before the workload is patched); `locks`: one
  lock per RR;
- `audit`: status, log line, Events; `handlers`: thin kopf handlers; `recheck`, `workload_watch`,
  `following`: when an RR is looked at again; `namespace_inputs`: the safety inputs' short-lived cache;
  `approval_gate`, `usage_reader`: the operator's own checks; `health`, `metrics`, `main`.
"""
