"""A real Kubernetes control plane on this machine, built from pinned Go modules (hack/controlplane/) and
run as local processes: `krr-mcp cluster build`, `krr-mcp cluster start`. The sandbox stays the
embedded default; this is the judge of what a real cluster does."""
