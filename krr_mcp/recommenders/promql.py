"""The PromQL krr's simple strategy sends, per object and batched.

krr (robusta_krr/core/integrations/prometheus/metrics/{cpu,memory}.py) asks, for ONE container of ONE
workload, with `pod=~"<its pods>"`:
  quantile_over_time(q, max(rate(container_cpu_usage_seconds_total{...}[STEP])) by (container, pod, job)
                     [D:STEP])
  count_over_time(max(container_cpu_usage_seconds_total{...}) by (container, pod, job)[D:STEP])
  max_over_time(max(container_memory_working_set_bytes{...}) by (container, pod, job)[D:STEP])
  count_over_time(max(container_memory_working_set_bytes{...}) by (container, pod, job)[D:STEP])
The batched form is the same expression with a namespace-wide selector naming the namespace's containers
as a set (`container=~"a|b"`, exact lookups; never `!=""`, which Prometheus resolves over the whole
TSDB): the result has one series per (container, pod, job) either way, so splitting it client-side
gives the very same numbers.

`max by (container, pod, job)` over many series at every subquery step is what makes a namespace-wide
query slow in Prometheus (it groups per step), and it changes nothing when a (container, pod, job) has
one series. So the batched engine first asks WITHOUT it (`aggregate=False`) and re-asks krr's exact
expression only for the pods where some (container, pod, job) came back with several series.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

RANGE_METRICS = frozenset({"cpu_range"})  # asked with query_range (krr's CPULoader, simple_limit)


def duration_literal(period: timedelta) -> str:
    """krr's _step_to_string for the history duration: whole days above a day, else minutes."""
    seconds = int(period.total_seconds())
    if period.total_seconds() > 86400:
        return f"{seconds // 86400}d"
    return f"{seconds // 60}m"


def step_literal(step: timedelta) -> str:
    """krr's step string: whole seconds."""
    return f"{round(step.total_seconds())}s"


def pods_period_literal(period: timedelta) -> str:
    """krr's load_pods range: hours up to a day (at most 32h), else days (at most 32d)."""
    seconds = int(period.total_seconds())
    if seconds <= 86400:
        return f"{min(seconds // 3600, 32)}h"
    return f"{min(seconds // 86400, 32)}d"


_PROMQL_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Prometheus 2.42's set-match fast path (tsdb findSetMatches) reads `a|b|c` as exact values only when
# nothing but these is escaped; escaping anything else (re.escape's `-`, for one) silently falls back to
# matching the regex against every value of the label. Unescaped outside a class, RE2 treats nothing
# else specially, so escaping exactly these makes each alternative a literal.
REGEX_META = frozenset(".+*?()|[]{}^$\\")
MAX_SET_MATCH = 1000  # values per set matcher; larger sets are asked in chunks (see set_chunks)


def quote(value: str) -> str:
    """A PromQL string literal (a raw newline, CR or tab would end or break the literal)."""
    return '"' + "".join(_PROMQL_STRING_ESCAPES.get(ch, ch) for ch in value) + '"'


def regex_alternatives(values: list[str]) -> str:
    """A fully-escaped `a|b|c` regex for =~ matching exactly `values` (each a literal, never a pattern)."""
    return "|".join("".join("\\" + ch if ch in REGEX_META else ch for ch in v) for v in values)


def set_chunks(values: Iterable[str], size: int = MAX_SET_MATCH) -> list[list[str]]:
    """The distinct non-empty values, sorted, in chunks of at most `size` (one set matcher each). An
    empty value is dropped: `l=~"a|"` would also match every series WITHOUT label l."""
    distinct = sorted({v for v in values if v})
    return [distinct[lo : lo + size] for lo in range(0, len(distinct), size)]


def selector(
    namespace: str, pods: list[str] | None, container: str | None, containers: list[str] | None = None
) -> str:
    """The loader selector: one `container` (krr's per-object form) or a set of `containers` (batched:
    exact postings lookups of the names asked about, never `container!=""`, which Prometheus resolves
    through every container value of the whole TSDB; series without a pod are dropped client-side).
    `pods` narrows to those pods. `containers` must be non-empty (see set_chunks)."""
    parts = [f"namespace={quote(namespace)}"]
    if pods is not None:
        parts.append(f"pod=~{quote(regex_alternatives(pods))}")
    if container is not None:
        parts.append(f"container={quote(container)}")
    else:
        if not containers or "" in containers:
            raise ValueError("a batched selector needs non-empty container names")
        parts.append(f"container=~{quote(regex_alternatives(containers))}")
    return ",".join(parts)


def metric_query(
    metric: str, sel: str, duration: str, step: str, percentile: float, aggregate: bool = True
) -> str:
    """One of krr's four (five with OOMKill) loader queries for selector `sel`. "cpu_range" is
    simple_limit's CPULoader: a range query (query_range over the history at the step), not a subquery.

    aggregate=False drops krr's per-step `max by (container, pod, job)` (same numbers when every
    target has one series; the OOMKill join keeps it).
    """
    by = "by (container, pod, job)"
    if not aggregate and metric != "oomkill":
        cpu, memory = (
            f"container_cpu_usage_seconds_total{{{sel}}}",
            f"container_memory_working_set_bytes{{{sel}}}",
        )
        q = round(percentile / 100, 2)
        return {
            "cpu_percentile": f"quantile_over_time({q}, rate({cpu}[{step}])[{duration}:{step}])",
            "cpu_peak": f"max_over_time(rate({cpu}[{step}])[{duration}:{step}])",
            "cpu_range": f"rate({cpu}[{step}])",
            "cpu_points": f"count_over_time({cpu}[{duration}:{step}])",
            "memory_peak": f"max_over_time({memory}[{duration}:{step}])",
            "memory_points": f"count_over_time({memory}[{duration}:{step}])",
        }[metric]
    if metric == "cpu_percentile":
        q = round(percentile / 100, 2)
        inner = f"max(rate(container_cpu_usage_seconds_total{{{sel}}}[{step}])) {by}"
        return f"quantile_over_time({q}, {inner}[{duration}:{step}])"
    if metric == "cpu_peak":  # the highest sample of the very subquery the percentile reads
        inner = f"max(rate(container_cpu_usage_seconds_total{{{sel}}}[{step}])) {by}"
        return f"max_over_time({inner}[{duration}:{step}])"
    if metric == "cpu_range":
        return f"max(rate(container_cpu_usage_seconds_total{{{sel}}}[{step}])) {by}"
    if metric == "cpu_points":
        return f"count_over_time(max(container_cpu_usage_seconds_total{{{sel}}}) {by}[{duration}:{step}])"
    if metric == "memory_peak":
        return f"max_over_time(max(container_memory_working_set_bytes{{{sel}}}) {by}[{duration}:{step}])"
    if metric == "memory_points":
        return f"count_over_time(max(container_memory_working_set_bytes{{{sel}}}) {by}[{duration}:{step}])"
    if metric == "oomkill":
        limits = (
            f'max(kube_pod_container_resource_limits{{resource="memory",{sel}}}) by (pod, container, job)'
        )
        reason = (
            f'max(kube_pod_container_status_last_terminated_reason{{reason="OOMKilled",{sel}}}) '
            "by (pod, container, job, reason)"
        )
        inner = f"max({limits} * on(pod, container, job) group_left(reason) {reason}) {by}"
        return f"max_over_time({inner}[{duration}:{step}])"
    raise ValueError(f"unknown metric {metric!r}")
