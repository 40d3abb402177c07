"""The project's Kubernetes API: pydantic models, and the registry `krr-mcp crds generate` turns into crds/.

To serve another custom resource, append a `CRDModel` to `CRD_MODELS` and run `krr-mcp crds generate`.
"""

from __future__ import annotations

from . import resource_recommendation as rr
from .crdgen import CRDModel

CRD_MODELS: list[CRDModel] = [
    CRDModel(
        model=rr.ResourceRecommendation,
        group=rr.GROUP,
        version=rr.VERSION,
        kind=rr.KIND,
        plural=rr.PLURAL,
        singular=rr.SINGULAR,
        scope="Namespaced",
        short_names=list(rr.SHORT_NAMES),
        categories=list(rr.CATEGORIES),
        printer_columns=rr.PRINTER_COLUMNS,
    ),
]

__all__ = ["CRD_MODELS", "CRDModel"]
