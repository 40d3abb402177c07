"""Run the krr CLI (`krr <strategy> -f json --logtostderr ...`) as a subprocess and parse what it prints.

No shell: arguments go as a list. The run has a timeout (the process is killed when it expires) and
stdout is read with a size cap (the process is killed when it prints more). Every failure raises
KrrCliError saying what happened, with the tail of krr's own log: krr logs to stderr with
--logtostderr, while -q would hide its errors (it raises the log level to CRITICAL, and "Could not
load kubernetes configuration" is an ERROR). The output is parsed by krr_output.parse_recommendations.

The cluster krr scans is the bridge's: --kubeconfig and --context name it (the kubeconfig's current
context when none is set), never whatever the environment points krr to; and when the bridge
impersonates its ServiceAccount (mcp_bridge/identity.py), krr acts as it too (--as).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil

from .krr_output import MAX_OUTPUT_BYTES, parse_recommendations
from .models import ScanRequest, ScanResult

STDERR_TAIL = 2000
STDERR_KEEP = 64 * 1024  # krr logs every object at INFO: keep the end, where the failure is


class KrrCliError(RuntimeError):
    """The krr CLI could not give a usable answer (missing, failed, timed out, too much output)."""


def find_krr(executable: str = "krr") -> str | None:
    """The krr executable on PATH, or None."""
    return shutil.which(executable)


def build_krr_args(request: ScanRequest) -> list[str]:
    """The argument list (after the executable) for one scan; krr's own flag names."""
    args = [request.strategy, "-f", "json", "--logtostderr"]
    if request.kubeconfig:
        args += ["--kubeconfig", request.kubeconfig]
    if request.kube_context:
        args += ["--context", request.kube_context]
    if request.kube_as:
        args += ["--as", request.kube_as]
    for ns in request.namespaces:
        args += ["-n", ns]
    for kind in request.kinds:
        args += ["-r", kind]
    if request.label_selector:
        args += ["-s", request.label_selector]
    if request.prometheus_url:
        args += ["-p", request.prometheus_url]
    args += [
        "--cpu-min",
        str(request.cpu_min_millicores),
        "--mem-min",
        str(request.memory_min_mib),
        # every krr strategy has these two settings
        f"--history_duration={request.history_hours:g}",
        f"--timeframe_duration={request.timeframe_minutes:g}",
    ]
    if request.strategy == "simple":
        args.append(f"--cpu_percentile={request.cpu_percentile:g}")
    elif request.strategy == "simple_limit":
        args += [
            f"--cpu_request={request.cpu_request_percentile:g}",
            f"--cpu_limit={request.cpu_limit_percentile:g}",
        ]
    if request.strategy in (
        "simple",
        "simple_limit",
    ):  # others name their settings differently: krr_extra_args
        args += [
            f"--memory_buffer_percentage={request.memory_buffer_pct:g}",
            f"--points_required={request.points_required}",
        ]
        if request.allow_hpa:
            args.append("--allow_hpa")
        if request.use_oomkill_data:
            args += [
                "--use_oomkill_data",
                f"--oom_memory_buffer_percentage={request.oom_memory_buffer_pct:g}",
            ]
    return args + list(request.krr_extra_args)


async def run_krr(
    args: list[str],
    *,
    executable: str = "krr",
    timeout: float = 600.0,
    max_output_bytes: int = MAX_OUTPUT_BYTES,
    env: dict[str, str] | None = None,
) -> bytes:
    """Run krr with `args`; return its stdout. Raises KrrCliError on any failure."""
    path = shutil.which(executable, path=(env or os.environ).get("PATH"))
    if path is None:
        raise KrrCliError(f"krr executable {executable!r} is not on PATH")
    try:
        proc = await asyncio.create_subprocess_exec(
            path,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise KrrCliError(f"cannot start krr ({path}): {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    try:
        stdout, stderr = await asyncio.wait_for(
            asyncio.gather(_read_capped(proc.stdout, max_output_bytes), _read_tail(proc.stderr, STDERR_KEEP)),
            timeout,
        )
        code = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        await _kill(proc)
        raise KrrCliError(f"krr did not finish within {timeout:g} s and was killed") from None
    except _TooMuchOutput:
        await _kill(proc)
        raise KrrCliError(f"krr printed more than {max_output_bytes} bytes and was killed") from None
    finally:
        if proc.returncode is None:
            await _kill(proc)
    if code != 0:
        log = stderr.decode("utf-8", "replace").strip()
        tail = log[-STDERR_TAIL:] if len(log) <= STDERR_TAIL else log[-STDERR_TAIL:].split("\n", 1)[-1]
        raise KrrCliError(f"krr exited with status {code}: {tail or '(no stderr)'}")
    return stdout


class _TooMuchOutput(Exception):
    pass


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > cap:
            raise _TooMuchOutput
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Everything `stream` says, keeping only the last `keep` bytes (the log may be long)."""
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-keep:]
    return tail


def with_cluster(request: ScanRequest) -> ScanRequest:
    """`request` naming its context: the kubeconfig's current context when only a kubeconfig is set,
    or, with neither, the default kubeconfig's (unless running in a pod, where the bridge and krr both
    use the in-cluster service account). Unchanged when it cannot be read: krr then says why."""
    if request.kube_context or (request.kubeconfig is None and _in_cluster()):
        return request
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts(config_file=request.kubeconfig)
    except Exception:
        return request
    name = (active or {}).get("name")
    return request.model_copy(update={"kube_context": name}) if name else request


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(proc.wait(), 5)


async def scan_with_krr(
    request: ScanRequest, *, executable: str = "krr", max_output_bytes: int = MAX_OUTPUT_BYTES
) -> ScanResult:
    """Run krr for `request` and parse its output (source "krr")."""
    stdout = await run_krr(
        build_krr_args(with_cluster(request)),
        executable=executable,
        timeout=request.timeout_seconds,
        max_output_bytes=max_output_bytes,
    )
    return parse_recommendations(stdout, max_bytes=max_output_bytes)
