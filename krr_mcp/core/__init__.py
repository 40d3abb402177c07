"""The pure core: decisions, patches, workload shapes, rollout state and the safety rules.

No I/O: every function takes plain dicts and pydantic models (krr_mcp.api) and returns values, so the
operator, the bridge and the kubectl plugin run the same rules."""
