"""Timestamps as the Kubernetes API writes them: RFC 3339, UTC, whole seconds (`2026-01-02T03:04:05Z`)."""

from __future__ import annotations

from datetime import datetime

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(when: datetime) -> str:
    """`when` (an aware UTC datetime) as the API server's `metav1.Time` text."""
    return when.strftime(TIMESTAMP_FORMAT)
