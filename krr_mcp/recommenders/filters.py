"""filter_recommendations and the label-selector matcher it shares with the native engine."""

from __future__ import annotations

import fnmatch
from decimal import Decimal

from .models import SEVERITY_ORDER, ContainerScan, ScanFilters, ScanResult


class SelectorError(ValueError):
    """A label selector that cannot be parsed."""


def parse_selector(selector: str | None) -> list[tuple[str, str, str | None]]:
    """krr's `-s` syntax: `a=b,c==d,e!=f`, plus `key` (exists) and `!key` (absent).

    Returns (key, op, value) with op in {"=", "!=", "exists", "!exists"}.
    """
    terms: list[tuple[str, str, str | None]] = []
    if not selector or not selector.strip():
        return terms
    for raw in selector.split(","):
        term = raw.strip()
        if not term:
            raise SelectorError(f"empty term in label selector {selector!r}")
        if "!=" in term:
            key, value = term.split("!=", 1)
            terms.append((_key(key, selector), "!=", value.strip()))
        elif "==" in term:
            key, value = term.split("==", 1)
            terms.append((_key(key, selector), "=", value.strip()))
        elif "=" in term:
            key, value = term.split("=", 1)
            terms.append((_key(key, selector), "=", value.strip()))
        elif term.startswith("!"):
            terms.append((_key(term[1:], selector), "!exists", None))
        else:
            terms.append((_key(term, selector), "exists", None))
    return terms


def _key(key: str, selector: str) -> str:
    key = key.strip()
    if not key or any(c.isspace() or c in "=!()" for c in key):
        raise SelectorError(f"bad label key {key!r} in selector {selector!r}")
    return key


def selector_matches(terms: list[tuple[str, str, str | None]], labels: dict[str, str]) -> bool:
    for key, op, value in terms:
        present = key in labels
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and present and labels[key] == value:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def _keep(item: ContainerScan, f: ScanFilters, terms: list[tuple[str, str, str | None]]) -> bool:
    if f.namespaces and item.namespace not in f.namespaces:
        return False
    if f.names and not any(fnmatch.fnmatchcase(item.name, pattern) for pattern in f.names):
        return False
    if f.kinds and item.kind.lower() not in {k.lower() for k in f.kinds}:
        return False
    if f.containers and item.container not in f.containers:
        return False
    if terms and not selector_matches(terms, item.labels):
        return False
    if not f.include_missing_data and item.missing_data:
        return False
    if f.min_severity is not None and SEVERITY_ORDER[item.severity] < SEVERITY_ORDER[f.min_severity]:
        return False
    if f.min_cpu_savings_cores is not None or f.min_memory_savings_bytes is not None:
        cpu, mem = item.savings("cpu"), item.savings("memory")
        cpu_ok = (
            f.min_cpu_savings_cores is not None
            and cpu is not None
            and cpu >= Decimal(repr(f.min_cpu_savings_cores))
        )
        mem_ok = (
            f.min_memory_savings_bytes is not None
            and mem is not None
            and mem >= Decimal(repr(f.min_memory_savings_bytes))
        )
        if not (cpu_ok or mem_ok):
            return False
    return True


def filter_recommendations(result: ScanResult, filters: ScanFilters | None = None) -> ScanResult:
    """The items of `result` that meet every criterion of `filters` (summary recomputed).

    Minimum savings: an item is kept when its CPU savings reach min_cpu_savings_cores OR its memory
    savings reach min_memory_savings_bytes (of the thresholds given). Unknown savings never qualify.
    """
    f = filters or ScanFilters()
    terms = parse_selector(f.label_selector)
    kept = [item for item in result.items if _keep(item, f, terms)]
    return result.model_copy(update={"items": kept}).with_summary()
