"""Synthetic Prometheus history: OpenMetrics generator, promtool loader, a Prometheus process runner."""
