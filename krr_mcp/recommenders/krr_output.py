"""Parse krr's `-f json` output into a ScanResult, refusing anything that is not sane.

Encodings (see shared/reference/krr/README.md): allocations and recommended values are floats in
cores/bytes, `null` (unset) or a quantity string ("50m", "2048Mi"); a recommendation without data is
`"?"` with severity UNKNOWN and an `info` text. The older format lacks labels/annotations/clusterSummary.

Whole-document problems (not JSON, truncated, over the size cap, no `scans` list) raise KrrOutputError.
A problem inside one scan (NaN, negative or absurd quantity, missing field, unknown severity, duplicate
container) turns that container into an error item with no recommendation and a ScanError naming the
JSON path; with `strict=True` it raises instead. Nothing broken ever reaches `recommended`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from krr_mcp.api.quantities import QuantityError, parse_resource_quantity

from .models import SEVERITY_ORDER, ContainerScan, HpaInfo, PodRef, ResourceExplanation, ScanError, ScanResult
from .simple_strategy import MIB, resources_from

MAX_OUTPUT_BYTES = 32 * 1024 * 1024
MIN_RECOMMENDED = {"cpu": 0.001, "memory": float(MIB)}
RESOURCES = ("cpu", "memory")


class KrrOutputError(ValueError):
    """krr's output cannot be used; `path` is the JSON path of the offending value ('$' = the document)."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


def _keep_constant(name: str) -> float:
    """NaN/Infinity are not JSON; keep them as floats so the value check names their path."""
    return float(name.replace("Infinity", "inf"))


def load_document(text: str | bytes, max_bytes: int = MAX_OUTPUT_BYTES) -> dict[str, Any]:
    """Decode krr's JSON (size-capped) and check the top-level shape."""
    size = len(text)
    if size > max_bytes:
        raise KrrOutputError(f"krr output is {size} bytes, over the {max_bytes}-byte cap")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KrrOutputError(f"krr output is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise KrrOutputError("krr output is empty")
    try:
        doc = json.loads(text, parse_constant=_keep_constant)
    except json.JSONDecodeError as exc:
        raise KrrOutputError(
            f"krr output is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; truncated?)"
        ) from None
    except RecursionError:
        raise KrrOutputError("krr output nests too deeply") from None
    if not isinstance(doc, dict):
        raise KrrOutputError(f"expected a JSON object, got {type(doc).__name__}")
    if "scans" not in doc:
        raise KrrOutputError("missing field 'scans'", "$.scans")
    if not isinstance(doc["scans"], list):
        raise KrrOutputError(f"expected a list, got {type(doc['scans']).__name__}", "$.scans")
    return doc


def _get(obj: Any, key: str, path: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
    if not isinstance(obj, dict):
        raise KrrOutputError(f"expected an object, got {type(obj).__name__}", path)
    if key not in obj or (optional and obj[key] is None):
        if optional:
            return None
        raise KrrOutputError(f"missing field '{key}'", f"{path}.{key}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise KrrOutputError(f"expected {_kind_name(kind)}, got {type(value).__name__}", f"{path}.{key}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _amount(value: Any, resource: str, path: str, recommended: bool) -> float | str | None:
    """A current/recommended value: None, '?', a finite sane number (cores/bytes) or a quantity string."""
    if value is None:
        return None
    if value == "?":
        return "?"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        got = type(value).__name__
        raise KrrOutputError(f"expected a number, quantity string, null or '?', got {got}", path)
    if isinstance(value, float) and not math.isfinite(value):
        raise KrrOutputError(f"{value} is not a finite {resource} amount", path)
    try:
        amount = parse_resource_quantity(value if isinstance(value, str) else Decimal(repr(value)), resource)
    except QuantityError as exc:
        raise KrrOutputError(str(exc), path) from None
    number = float(amount)
    if recommended and number < MIN_RECOMMENDED[resource]:
        unit = "1m of CPU" if resource == "cpu" else "1Mi of memory"
        message = f"recommended {resource} {value!r} is below {unit}: not a krr recommendation"
        raise KrrOutputError(message, path)
    return number


def _severity(value: Any, path: str) -> str:
    if not isinstance(value, str) or value not in SEVERITY_ORDER:
        expected = ", ".join(SEVERITY_ORDER)
        raise KrrOutputError(f"unknown severity {value!r} (expected one of {expected})", path)
    return str(value)


def _allocations(obj: Any, path: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for selector in ("requests", "limits"):
        part = _get(obj, selector, path, dict)
        out[selector] = {}
        for res in RESOURCES:
            value = _amount(part.get(res), res, f"{path}.{selector}.{res}", recommended=False)
            if value == "?":
                raise KrrOutputError("current allocation cannot be '?'", f"{path}.{selector}.{res}")
            out[selector][res] = value  # type: ignore[assignment]
    return out


def _recommended(obj: Any, path: str) -> tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, str]]:
    values: dict[str, dict[str, Any]] = {}
    severities: dict[str, str] = {}
    for selector in ("requests", "limits"):
        part = _get(obj, selector, path, dict)
        values[selector] = {}
        for res in RESOURCES:
            entry_path = f"{path}.{selector}.{res}"
            if res not in part:
                raise KrrOutputError(f"missing field '{res}'", entry_path)
            entry = part[res]
            if isinstance(entry, dict):  # {"value": ..., "severity": ...}
                if "value" not in entry:
                    raise KrrOutputError("missing field 'value'", f"{entry_path}.value")
                values[selector][res] = _amount(entry["value"], res, f"{entry_path}.value", recommended=True)
                severities[f"{selector}.{res}"] = _severity(entry.get("severity"), f"{entry_path}.severity")
            else:
                values[selector][res] = _amount(entry, res, entry_path, recommended=True)
    info_obj = obj.get("info") or {}
    if not isinstance(info_obj, dict):
        raise KrrOutputError(f"expected an object, got {type(info_obj).__name__}", f"{path}.info")
    info: dict[str, str] = {}
    for res in RESOURCES:
        text = info_obj.get(res)
        if text is not None:
            if not isinstance(text, str) or len(text) > 1024:
                raise KrrOutputError("expected a short string or null", f"{path}.info.{res}")
            info[res] = text
    return values, severities, info


def _str_map(obj: Any, path: str) -> dict[str, str]:
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in obj.items()
    ):
        raise KrrOutputError("expected an object of strings", path)
    return dict(obj)


def _hpa(obj: Any, path: str) -> HpaInfo | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise KrrOutputError(f"expected an object or null, got {type(obj).__name__}", path)
    fields: dict[str, Any] = {"name": obj.get("name") if isinstance(obj.get("name"), str) else None}
    for key in ("min_replicas", "max_replicas"):
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise KrrOutputError(f"expected a non-negative integer, got {value!r}", f"{path}.{key}")
        fields[key] = value
    for key in ("target_cpu_utilization_percentage", "target_memory_utilization_percentage"):
        value = obj.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and (not number or not math.isfinite(value) or value < 0):
            raise KrrOutputError(f"expected a non-negative number, got {value!r}", f"{path}.{key}")
        fields[key] = value
    return HpaInfo(**fields)


def _identity(obj: Any, path: str) -> tuple[str, str, str, str]:
    parts = []
    for key in ("namespace", "kind", "name", "container"):
        value = _get(obj, key, path, str)
        if not value or len(value) > 253 or any(c.isspace() for c in value):
            raise KrrOutputError(f"{key} {value!r} is not a Kubernetes name", f"{path}.{key}")
        parts.append(value)
    return parts[0], parts[1], parts[2], parts[3]


def parse_scan(scan: Any, path: str) -> ContainerScan:
    """One element of krr's `scans`; raises KrrOutputError naming the first bad value's path."""
    if not isinstance(scan, dict):
        raise KrrOutputError(f"expected dict, got {type(scan).__name__}", path)
    obj = scan
    k8s = _get(obj, "object", path, dict)
    namespace, kind, name, container = _identity(k8s, f"{path}.object")
    current = _allocations(_get(k8s, "allocations", f"{path}.object", dict), f"{path}.object.allocations")
    pods_raw = _get(k8s, "pods", f"{path}.object", list, optional=True) or []
    pods = []
    for i, pod in enumerate(pods_raw):
        pod_name = _get(pod, "name", f"{path}.object.pods[{i}]", str)
        deleted = pod.get("deleted", False)
        if not isinstance(deleted, bool):
            raise KrrOutputError("expected true or false", f"{path}.object.pods[{i}].deleted")
        pods.append(PodRef(name=pod_name, deleted=deleted))
    values, severities, info = _recommended(_get(obj, "recommended", path, dict), f"{path}.recommended")
    severity = _severity(obj.get("severity"), f"{path}.severity")
    unknown = [res for res in RESOURCES if "?" in (values["requests"][res], values["limits"][res])]
    recommended = None
    if not unknown:
        recommended = resources_from(values)
        for res in RESOURCES:
            req, lim = values["requests"][res], values["limits"][res]
            if req is not None and lim is not None and lim < req:
                message = f"recommended {res} limit {lim} is below the request {req}"
                raise KrrOutputError(message, f"{path}.recommended.limits.{res}")
    warnings = k8s.get("warnings") or []
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise KrrOutputError("expected a list of strings", f"{path}.object.warnings")
    return ContainerScan(
        namespace=namespace,
        kind=kind,
        name=name,
        container=container,
        pods=pods,
        current=resources_from(current),
        recommended=recommended,
        unknown=unknown,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        severities=severities,  # type: ignore[arg-type]
        info=info,
        hpa=_hpa(k8s.get("hpa"), f"{path}.object.hpa"),
        labels=_str_map(k8s.get("labels"), f"{path}.object.labels"),
        annotations=_str_map(k8s.get("annotations"), f"{path}.object.annotations"),
        warnings=list(warnings),
        explanation=[_explanation(res, values, info) for res in RESOURCES],
    )


def _parse_scan_safely(scan: Any, path: str) -> ContainerScan:
    """parse_scan, with any shape it did not foresee reported as a KrrOutputError, never a crash."""
    try:
        return parse_scan(scan, path)
    except KrrOutputError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, ArithmeticError) as exc:
        raise KrrOutputError(f"malformed scan ({exc.__class__.__name__}: {str(exc)[:200]})", path) from None


def _explanation(res: str, values: dict[str, dict[str, Any]], info: dict[str, str]) -> ResourceExplanation:
    value = values["requests"][res]
    number = value if isinstance(value, float) else None
    return ResourceExplanation(
        resource=res,  # type: ignore[arg-type]
        method="computed by the krr CLI (krr reports only the final, rounded value)",
        final_value=number,
        info=info.get(res),
    )


def _settings(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    strategy = doc.get("strategy")
    if not isinstance(strategy, dict):
        return "unknown", {}
    name = strategy.get("name") if isinstance(strategy.get("name"), str) else "unknown"
    settings = strategy.get("settings")
    if not isinstance(settings, dict):
        settings = {}
    scalar = str | int | float | bool
    clean = {k: v for k, v in settings.items() if isinstance(k, str) and isinstance(v, scalar)}
    return str(name)[:63], clean


def parse_recommendations(
    text: str | bytes, *, strict: bool = False, max_bytes: int = MAX_OUTPUT_BYTES
) -> ScanResult:
    """krr `-f json` output -> ScanResult (source "krr"). See the module docstring for what is refused."""
    doc = load_document(text, max_bytes)
    items: list[ContainerScan] = []
    paths: list[str] = []
    errors: list[ScanError] = []
    for i, scan in enumerate(doc["scans"]):
        try:
            items.append(_parse_scan_safely(scan, f"$.scans[{i}]"))
            paths.append(f"$.scans[{i}]")
        except KrrOutputError as exc:
            if strict:
                raise
            errors.append(_container_error(scan, exc))
    refuse_duplicates(items, paths, errors, strict)
    reported = _scan_errors(doc.get("errors"))
    errors.extend(e.error for e in reported if not e.warning)
    warnings = [e.error for e in reported if e.warning]
    name, settings = _settings(doc)
    score = doc.get("score")
    result = ScanResult(
        items=items,
        source="krr",
        strategy=name,
        settings=settings,
        score=score if isinstance(score, int) and not isinstance(score, bool) else None,
        errors=errors,
        warnings=warnings,
    )
    return result.with_summary()


def refuse_duplicates(
    items: list[ContainerScan], paths: list[str], errors: list[ScanError], strict: bool
) -> None:
    """A container listed twice is ambiguous: every copy loses its recommendation."""
    where: dict[tuple[str, str, str, str], list[int]] = {}
    for pos, item in enumerate(items):
        where.setdefault((item.namespace, item.kind, item.name, item.container), []).append(pos)
    for key, positions in where.items():
        if len(positions) < 2:
            continue
        at = ", ".join(paths[p] for p in positions)
        message = f"duplicate container {'/'.join(key)} in krr output (at {at}); none of them is used"
        if strict:
            raise KrrOutputError(message, paths[positions[1]])
        for p in positions:
            items[p] = items[p].model_copy(update={"recommended": None, "error": message})
        ident = {"namespace": key[0], "name": key[2], "container": key[3]}
        errors.append(ScanError(scope="container", message=message, **ident))


def _container_error(scan: Any, exc: KrrOutputError) -> ScanError:
    k8s = scan.get("object") if isinstance(scan, dict) else None
    ident = {}
    if isinstance(k8s, dict):
        for key in ("namespace", "name", "container"):
            if isinstance(k8s.get(key), str):
                ident[key] = k8s[key][:253]
    return ScanError(scope="container", message=f"krr output refused: {exc.reason}", path=exc.path, **ident)


@dataclass
class _Reported:
    error: ScanError
    warning: bool


# What krr's runner appends to `errors` while it goes on scanning (core/runner.py,
# _check_data_availability): both are warnings there, not failures.
KRR_WARNINGS = {
    "HistoryRangeError": (
        "krr could not check how much history Prometheus holds (it asks for max(prometheus_tsdb_head_series) "
        "over the last hours: backfilled data, or a store without that series, has none) and, as krr does, "
        "the scan assumed the history is sufficient"
    ),
    "NotEnoughHistoryAvailable": (
        "Prometheus holds less history than the strategy needs (krr: 3 hours); krr calculated the "
        "recommendations anyway (enough history expected after {retry_after})"
    ),
}


def _scan_errors(raw: Any) -> list[_Reported]:
    """krr's top-level `errors`: its known warnings explained (warning=True), anything else an error."""
    if not isinstance(raw, list):
        return []
    out = []
    for entry in raw[:100]:
        known = KRR_WARNINGS.get(str(entry.get("name"))) if isinstance(entry, dict) else None
        if known is not None and isinstance(entry, dict):
            text = known.format(retry_after=str(entry.get("retry_after", "unknown"))[:100])
            message = f"krr warned: {entry['name']}: {text}"
            out.append(_Reported(ScanError(scope="scan", message=message), warning=True))
            continue
        if isinstance(entry, dict):
            text = ", ".join(f"{k}={v}" for k, v in entry.items())[:1000]
        else:
            text = str(entry)[:1000]
        out.append(_Reported(ScanError(scope="scan", message=f"krr reported: {text}"), warning=False))
    return out
