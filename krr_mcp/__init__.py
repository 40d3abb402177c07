"""krr-mcp command line, sandbox API server and kubectl plugin."""
