"""`kubectl krr`: review, approve, reject and roll back ResourceRecommendations as a human.

kubectl finds the `kubectl-krr` executable on PATH and runs it for `kubectl krr ...`. Exit codes:
0 ok, 1 error, 2 usage, 3 refused or conflict, 4 not found (see errors.ExitCode).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from krr_mcp.api.text import printable

from . import actions, kube, views
from .describe import Section, describe, unscanned_values_notes
from .errors import ExitCode, PluginError, UsageError
from .output import (
    PHASE_STYLES,
    Format,
    console,
    default_format,
    dump,
    error_console,
    plain_table,
    print_rows,
    safe_text,
)
from .workload_diff import proposed_resources, rollback_resources, unified_diff, with_resources

app = typer.Typer(
    name="kubectl krr",
    help="Review and decide on krr-mcp ResourceRecommendations. Exit codes: 0 ok, 1 error, 2 usage, "
    "3 refused or conflict, 4 not found.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

Kubeconfig = Annotated[str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file.")]
Context = Annotated[str | None, typer.Option("--context", help="The kubeconfig context to use.")]
Namespace = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Namespace (default: the context's).")
]
Output = Annotated[
    Format | None,
    typer.Option(
        "--output",
        "-o",
        help="table (terminal default), plain (default in a pipe), json or yaml.",
        case_sensitive=False,
    ),
]
ResourceVersion = Annotated[
    str | None,
    typer.Option(
        "--resource-version",
        help="Refuse unless the RR still has this resourceVersion (the one you reviewed).",
    ),
]


def _now() -> datetime:
    return datetime.now(UTC)


def _interactive() -> bool:
    """A person at a terminal can answer a question."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn PluginError into a message on stderr and its exit code."""
    try:
        yield
    except PluginError as exc:
        error_console().print(safe_text(f"error: {exc.message}", style="red"))
        raise typer.Exit(int(exc.code)) from None


@app.command("list")
def list_(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")] = False,
    phase: Annotated[list[str] | None, typer.Option("--phase", help="Only this phase (repeatable).")] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="Only RRs for this workload name or Kind/name (repeatable)."),
    ] = None,
    output: Output = None,
) -> None:
    """One row per container: requests current -> proposed, change %, what it saves per month, risk,
    phase, age; namespace by namespace, the largest saving first, then each namespace's sum."""
    with _errors():
        if all_namespaces and namespace:
            raise UsageError("--namespace and --all-namespaces exclude each other")
        conn = kube.connect(kubeconfig, context)
        scope = None if all_namespaces else (namespace or conn.namespace)
        rrs = views.by_namespace_and_savings(
            views.filter_rrs(kube.list_rrs(conn, scope), phase or [], target or [])
        )
        columns = views.LIST_COLUMNS if all_namespaces else views.LIST_COLUMNS[1:]
        where = "any namespace" if scope is None else f"namespace {scope}"
        fmt = default_format(output)
        print_rows(
            views.list_rows(rrs, _now()), columns, fmt, f"No resourcerecommendations found in {where}."
        )
        sums = views.savings_rows(rrs)
        if sums and fmt in (Format.TABLE, Format.PLAIN):  # JSON/YAML stay one object per row
            if fmt is Format.TABLE:
                console().print()
            else:
                sys.stdout.write("\n")
            print_rows(sums, views.SUM_COLUMNS, fmt, "")


def _print_sections(sections: list[Section], fmt: Format, out: Console | None = None) -> None:
    out = out or console()
    rich = fmt is Format.TABLE
    for section in sections:
        out.print(Text(f"{section.title}:", style="bold" if rich else ""))
        width = max((len(k) for k, _ in section.pairs), default=0)
        for key, value in section.pairs:
            style = PHASE_STYLES.get(value, "") if rich and key == "Phase" else ""
            out.print(safe_text(f"  {key + ':':<{width + 1}} ") + safe_text(value, style=style))
        if section.text:
            out.print(safe_text("  " + section.text))
        if section.columns:
            if not section.rows:
                out.print("  <none>")
                continue
            if not rich:
                out.file.write(plain_table([c.upper() for c in section.columns], section.rows, indent="  "))
                continue
            table = Table(
                *[c.upper() for c in section.columns],
                box=None,
                pad_edge=False,
                header_style="bold" if rich else "",
                padding=(0, 2, 0, 2),
            )
            for row in section.rows:
                table.add_row(*(safe_text(cell) for cell in row))
            out.print(table)


def next_step(rr: dict[str, Any]) -> str | None:
    """The command a reviewer most likely wants next, for this RR's state."""
    meta, spec = rr["metadata"], rr.get("spec") or {}
    where = f"{meta.get('name')} -n {meta.get('namespace')}"
    phase = views.phase_of(rr)
    if not spec.get("approved") and not spec.get("rejected") and phase == "Proposed":
        return (
            f"To approve exactly what you just read: kubectl krr approve {where} "
            f"--resource-version {meta.get('resourceVersion')}"
        )
    if phase in actions.ROLLBACKABLE_PHASES and not spec.get("rollbackRequested"):
        return f"To restore the previous resources: kubectl krr rollback {where}"
    return None


@app.command()
def show(
    name: str,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    output: Output = None,
) -> None:
    """Everything a reviewer needs: the change, evidence, safety report, history and conditions."""
    with _errors():
        conn = kube.connect(kubeconfig, context)
        rr = kube.get_rr(conn, namespace or conn.namespace, name)
        fmt = default_format(output)
        if fmt in (Format.JSON, Format.YAML):
            sys.stdout.write(dump(rr, fmt))
            return
        _print_sections(describe(rr, _now()), fmt)
        hint = next_step(rr)
        if hint:
            console().print(Text(f"\n{hint}", style="dim"))


@app.command()
def diff(
    name: str,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    rollback: Annotated[
        bool,
        typer.Option(
            "--rollback", help="Diff against what a rollback would restore instead of the proposal."
        ),
    ] = False,
) -> None:
    """The workload as it is vs as it would be after the change (a unified diff, like kubectl diff)."""
    with _errors():
        conn = kube.connect(kubeconfig, context)
        rr = kube.get_rr(conn, namespace or conn.namespace, name)
        label, text = _workload_diff(conn, rr, rollback)
        for note in [] if rollback else unscanned_values_notes(rr):
            error_console().print(safe_text(note, style="bold"))
        if not text:
            error_console().print(safe_text(f"no difference: {label} already has these resources"))
            return
        _print_diff(text, console(), sys.stdout.isatty())


def _workload_diff(conn: kube.Connection, rr: dict[str, Any], rollback: bool = False) -> tuple[str, str]:
    """(label, unified diff) of the live workload vs after the RR's change (or its rollback)."""
    target = rr["spec"]["target"]
    live = kube.get_workload(conn, rr["metadata"]["namespace"], target["kind"], target["name"])
    wanted = rollback_resources(rr) if rollback else proposed_resources(rr)
    label = f"{target['kind']}.{rr['metadata']['namespace']}.{target['name']}"
    return label, unified_diff(live, with_resources(live, wanted, restoring=rollback), label)


def _print_diff(text: str, out: Console, colour: bool) -> None:
    if not colour:
        out.file.write("".join(printable(line) + "\n" for line in text.splitlines()))
        return
    for line in text.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        out.print(safe_text(line, style=style))


def show_approval(conn: kube.Connection, rr: dict[str, Any], out: Console, fmt: Format) -> None:
    """What approving `rr` approves, as read at its resourceVersion (the one the approval pins): the
    proposed change, then the workload diff as `kubectl krr diff` shows it (when it can be read)."""
    meta = rr.get("metadata") or {}
    out.print(
        safe_text(
            f"Approving resourcerecommendation {meta.get('namespace')}/{meta.get('name')} at resourceVersion "
            f"{meta.get('resourceVersion')}: {views.target_of(rr)}",
            style="bold" if fmt is Format.TABLE else "",
        )
    )
    change = [section for section in describe(rr, _now()) if section.title == "Proposed change"]
    _print_sections(change, fmt, out)
    try:
        label, text = _workload_diff(conn, rr)
    except PluginError as exc:
        out.print(safe_text(f"(no workload diff: {exc.message})"))
        return
    _print_diff(text or f"(no difference: {label} already has these resources)\n", out, fmt is Format.TABLE)


def _decide(
    names: list[str],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    output: Format | None,
    verb: str,
    build: Callable[[dict[str, Any], str], dict[str, Any]],
    resource_version: str | None,
    review: Callable[[kube.Connection, dict[str, Any]], bool] | None = None,
) -> None:
    """Read each RR, let `build` refuse or produce the patch, let `review` show it (False: skip it),
    send it; exit with the first failure.

    `resource_version` (the one `build` pins) names what one reviewer saw: it allows exactly one RR.
    """
    if resource_version is not None and len(names) != 1:
        raise UsageError("--resource-version pins one RR; give exactly one name")
    conn = kube.connect(kubeconfig, context)
    user = kube.whoami(conn)
    ns = namespace or conn.namespace
    failure: ExitCode | None = None
    results = []
    for name in names:
        try:
            rr = kube.get_rr(conn, ns, name)
            patch = build(rr, user)
            if review is not None and not review(conn, rr):
                error_console().print(f"resourcerecommendation {ns}/{name} not {verb}")
                failure = failure or ExitCode.REFUSED
                continue
            patched = kube.merge_patch_rr(conn, ns, name, patch)
        except PluginError as exc:
            error_console().print(safe_text(f"error: {exc.message}", style="red"))
            failure = failure or exc.code
            continue
        results.append(patched)
        if output not in (Format.JSON, Format.YAML):
            version = patched["metadata"].get("resourceVersion")
            console().print(
                safe_text(f"resourcerecommendation {ns}/{name} {verb} by {user} (resourceVersion {version})")
            )
    if output in (Format.JSON, Format.YAML):
        sys.stdout.write(dump(results[0] if len(results) == 1 else results, output))
    if failure is not None:
        raise typer.Exit(int(failure))


@app.command()
def approve(
    names: Annotated[list[str], typer.Argument(help="RR names.")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    resource_version: ResourceVersion = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
    output: Output = None,
) -> None:
    """Approve as yourself (SelfSubjectReview). Shows the change it approves (the proposal and the
    workload diff), asks on a terminal, then sets approvedBy and approved in one patch pinned to the
    resourceVersion it showed (or --resource-version): the API server refuses it if the RR changed."""
    fmt = default_format(output)
    machine = fmt in (Format.JSON, Format.YAML)
    ask = _interactive() and not yes and resource_version is None and not machine

    def review(conn: kube.Connection, rr: dict[str, Any]) -> bool:
        show_approval(conn, rr, error_console() if machine else console(), fmt)
        return not ask or typer.confirm("Approve exactly this?", default=False)

    with _errors():
        _decide(
            names,
            kubeconfig,
            context,
            namespace,
            output,
            "approved",
            lambda rr, user: actions.approve_patch(rr, user, _now(), resource_version),
            resource_version,
            review,
        )


@app.command()
def reject(
    names: Annotated[list[str], typer.Argument(help="RR names.")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    resource_version: ResourceVersion = None,
    output: Output = None,
) -> None:
    """Refuse a proposal for good (the operator will never apply it)."""
    with _errors():
        _decide(
            names,
            kubeconfig,
            context,
            namespace,
            output,
            "rejected",
            lambda rr, user: actions.reject_patch(rr, user, resource_version),
            resource_version,
        )


@app.command()
def rollback(
    names: Annotated[list[str], typer.Argument(help="RR names.")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    resource_version: ResourceVersion = None,
    output: Output = None,
) -> None:
    """Ask the operator to restore the resources the workload had before an applied RR."""
    with _errors():
        _decide(
            names,
            kubeconfig,
            context,
            namespace,
            output,
            "rollback requested",
            lambda rr, user: actions.rollback_patch(rr, user, resource_version),
            resource_version,
        )


@app.command()
def audit(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")] = False,
    output: Output = None,
) -> None:
    """Who approved, rejected, applied and rolled back what, and when (from the RRs' status.history)."""
    with _errors():
        if all_namespaces and namespace:
            raise UsageError("--namespace and --all-namespaces exclude each other")
        conn = kube.connect(kubeconfig, context)
        scope = None if all_namespaces else (namespace or conn.namespace)
        print_rows(
            views.audit_rows(kube.list_rrs(conn, scope)),
            views.AUDIT_COLUMNS,
            default_format(output),
            "No decisions recorded yet.",
        )


@app.command()
def version() -> None:
    """Print the version as krew's manifest (plugins/krr.yaml) states it: v and the package's version."""
    from krr_mcp import installed_version

    print(f"v{installed_version()}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point of `kubectl-krr`; exits with the documented codes."""
    try:
        app(args=argv, prog_name="kubectl krr", standalone_mode=True)
    except click.exceptions.Exit as exc:  # pragma: no cover - standalone_mode exits itself
        sys.exit(exc.exit_code)
