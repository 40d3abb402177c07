"""krr-mcp operator: the ResourceRecommendation API and the controller that applies approved ones."""
