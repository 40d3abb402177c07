"""The Kubernetes client layer: the one place our code talks to the API server (krr_mcp.kube.client),
used by the operator, the bridge and the kubectl plugin."""
