"""pytest fixtures for the sandbox API server (filled in by the sandbox component)."""
