"""The krr CLI adapter with a fake `krr` executable on PATH that records its argv.

krr itself cannot be installed here (it is on no package registry this project may use, and its source
must not be vendored), so the fakes reproduce krr's documented behaviour where a test depends on it.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import stat
import sys
import time

import pytest

from krr_mcp.recommenders import (
    KrrCliError,
    KrrOutputError,
    ScanRequest,
    get_recommendations,
)
from krr_mcp.recommenders.krr_cli import build_krr_args, run_krr, with_cluster

REFERENCE = pathlib.Path(__file__).parent / "data"  # krr's recorded outputs (see data/README.md)


@pytest.fixture
def fake_krr(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Install a `krr` script on PATH; returns a function taking the script body (POSIX sh)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    args_file = tmp_path / "args.json"

    def install(body: str) -> pathlib.Path:
        script = bin_dir / "krr"
        dump = f"import json,sys; json.dump(sys.argv[1:], open({str(args_file)!r}, 'w'))"
        record = f'{shlex.quote(sys.executable)} -c "{dump}" "$@"'
        script.write_text(f"#!/bin/sh\n{record}\n{body}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return args_file

    return install


async def test_prints_recorded_output_and_gets_the_arguments(fake_krr) -> None:  # type: ignore[no-untyped-def]
    args_file = fake_krr(f"cat {REFERENCE / 'example-output.json'}")
    request = ScanRequest(
        source="krr",
        namespaces=["shop", "billing"],
        label_selector="app=web",
        kinds=["Deployment"],
        prometheus_url="http://prom:9090",
        history_hours=48,
        cpu_percentile=90,
    )
    result = await get_recommendations(request)
    assert result.source == "krr" and result.source_reason == "source 'krr' was requested"
    assert len(result.items) == 3 and result.summary.proposable == 3
    argv = json.loads(args_file.read_text())
    assert argv[:4] == ["simple", "-f", "json", "--logtostderr"] and "-q" not in argv
    assert argv == build_krr_args(with_cluster(request))
    for flag in (
        ["-n", "shop"],
        ["-n", "billing"],
        ["-s", "app=web"],
        ["-r", "Deployment"],
        ["-p", "http://prom:9090"],
    ):
        joined = " ".join(argv)
        assert " ".join(flag) in joined
    assert "--history_duration=48" in argv and "--cpu_percentile=90" in argv


async def test_auto_prefers_krr_on_path(fake_krr) -> None:  # type: ignore[no-untyped-def]
    fake_krr(f"cat {REFERENCE / 'example-output-not-enough-data.json'}")
    result = await get_recommendations(ScanRequest(source="auto"))
    assert result.source == "krr"
    assert "the krr CLI was found at" in result.source_reason
    assert result.summary.missing_data == 1


async def test_auto_without_krr_uses_the_native_engine_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, golden_prometheus
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))  # no krr here
    request = ScanRequest(
        source="auto", prometheus_url=golden_prometheus.url, history_hours=8, end_time=golden_prometheus.at
    )
    result = await get_recommendations(request)
    assert result.source == "native"
    assert "no krr executable on PATH" in result.source_reason
    assert result.summary.containers > 0


async def test_non_zero_exit_reports_stderr(fake_krr) -> None:  # type: ignore[no-untyped-def]
    fake_krr("echo 'Could not load kubernetes configuration' >&2; exit 3")
    with pytest.raises(
        KrrCliError, match="krr exited with status 3: Could not load kubernetes configuration"
    ):
        await get_recommendations(ScanRequest(source="krr"))


async def test_hang_is_killed_at_the_timeout(fake_krr, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    pid_file = tmp_path / "pid"
    fake_krr(f"echo $$ > {pid_file}; exec sleep 60")
    started = time.monotonic()
    with pytest.raises(KrrCliError, match=r"did not finish within 0\.5 s and was killed"):
        await get_recommendations(ScanRequest(source="krr", timeout_seconds=0.5))
    assert time.monotonic() - started < 10
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_garbage_output(fake_krr) -> None:  # type: ignore[no-untyped-def]
    fake_krr("echo 'Traceback (most recent call last):'; echo 'KeyError: scans'")
    with pytest.raises(KrrOutputError, match="not valid JSON"):
        await get_recommendations(ScanRequest(source="krr"))


async def test_truncated_output(fake_krr) -> None:  # type: ignore[no-untyped-def]
    fake_krr(f"head -c 3000 {REFERENCE / 'example-output.json'}")
    with pytest.raises(KrrOutputError, match="truncated"):
        await get_recommendations(ScanRequest(source="krr"))


async def test_endless_output_is_capped_and_killed(fake_krr) -> None:  # type: ignore[no-untyped-def]
    fake_krr("exec yes '{\"scans\": []}'")
    with pytest.raises(KrrCliError, match="more than 1048576 bytes and was killed"):
        await run_krr(["simple"], timeout=30, max_output_bytes=1 << 20)


async def test_missing_krr(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KrrCliError, match="not on PATH"):
        await get_recommendations(ScanRequest(source="krr"))


async def test_no_shell_interpretation(fake_krr) -> None:  # type: ignore[no-untyped-def]
    args_file = fake_krr(f"cat {REFERENCE / 'example-output.json'}")
    hostile = "app=web; touch /tmp/pwned-by-krr-mcp"
    await get_recommendations(ScanRequest(source="krr", label_selector=hostile))
    assert hostile in json.loads(args_file.read_text())
    assert not pathlib.Path("/tmp/pwned-by-krr-mcp").exists()


def test_strategy_settings_under_krrs_names() -> None:
    limit = build_krr_args(ScanRequest(source="krr", strategy="simple_limit", cpu_limit_percentile=99))
    assert limit[:4] == ["simple_limit", "-f", "json", "--logtostderr"]
    assert "--cpu_request=66" in limit and "--cpu_limit=99" in limit
    assert "--history_duration=336" in limit and "--timeframe_duration=1.25" in limit
    assert "--memory_buffer_percentage=15" in limit and "--points_required=100" in limit
    assert not any(a.startswith("--cpu_percentile") for a in limit)
    other = build_krr_args(ScanRequest(source="krr", strategy="mystrategy", krr_extra_args=["--x=1"]))
    assert not any(a.startswith(("--cpu_", "--memory_buffer", "--points")) for a in other)
    assert "--history_duration=336" in other and other[-1] == "--x=1"
    simple = build_krr_args(ScanRequest(use_oomkill_data=True, allow_hpa=True))
    assert "--allow_hpa" in simple and "--use_oomkill_data" in simple
    assert "--oom_memory_buffer_percentage=25" in simple and "--points_required=100" in simple
    assert "--cpu_percentile=95" in simple and not any(a.startswith("--cpu_request") for a in simple)


# krr's behaviour without a usable kubeconfig (robusta_krr/core/runner.py, core/models/config.py): it logs
# "Could not load kubernetes configuration: ..." at ERROR and exits 1; -q raises the log level to CRITICAL,
# so nothing is said; the log goes to stderr only with --logtostderr (else to stdout).
KRR_WITHOUT_CONFIG = """
case " $* " in *" --kubeconfig "*) cat {output}; exit 0;; esac
case " $* " in *" -q "*) exit 1;; esac
message="Could not load kubernetes configuration: Invalid kube-config file. No configuration found."
case " $* " in *" --logtostderr "*) echo "$message" >&2;; *) echo "$message";; esac
exit 1
"""


async def test_krr_keeps_its_own_error_message(fake_krr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    fake_krr(KRR_WITHOUT_CONFIG.format(output=REFERENCE / "example-output.json"))
    with pytest.raises(KrrCliError, match="Could not load kubernetes configuration: Invalid kube-config"):
        await get_recommendations(ScanRequest(source="krr"))


async def test_the_bridge_passes_its_own_kubeconfig_and_context_to_krr(fake_krr, sandbox) -> None:  # type: ignore[no-untyped-def]
    """`krr-mcp serve --kubeconfig X [--context C]`: krr scans X's cluster (C, else X's current context)."""
    from kubernetes import config
    from mcp import Client

    from mcp_bridge.server import build_server
    from mcp_bridge.settings import BridgeSettings

    args_file = fake_krr(KRR_WITHOUT_CONFIG.format(output=REFERENCE / "example-output.json"))
    kubeconfig = str(sandbox.kubeconfig)
    _, active = config.list_kube_config_contexts(config_file=kubeconfig)
    for context, expected in ((None, active["name"]), (active["name"], active["name"])):
        server = build_server(BridgeSettings(kubeconfig=kubeconfig, context=context, source="krr"))
        async with Client(server) as client:
            scan = await client.call_tool("scan_recommendations", {"namespaces": ["shop"]})
        assert not scan.is_error, scan.content
        argv = json.loads(args_file.read_text())
        at = argv.index("--kubeconfig")
        assert argv[at : at + 2] == ["--kubeconfig", kubeconfig]
        assert argv[argv.index("--context") + 1] == expected
        assert scan.structured_content is not None and scan.structured_content["source"] == "krr"


async def test_a_long_krr_log_is_no_failure_and_its_end_is_kept(fake_krr) -> None:  # type: ignore[no-untyped-def]
    fake_krr("yes 'INFO Calculated recommendations for an object' | head -c 3000000 >&2; "
             "echo 'CRITICAL No successful scans were made.' >&2; exit 1")  # fmt: skip
    with pytest.raises(KrrCliError, match=r"(?s)status 1: INFO .*CRITICAL No successful scans were made\.$"):
        await get_recommendations(ScanRequest(source="krr"))


async def test_history_range_error_reaches_the_assistant_as_a_warning(fake_krr, sandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """krr on backfilled data (no prometheus_tsdb_head_series) says HistoryRangeError and scans anyway."""
    from mcp import Client

    from mcp_bridge.server import build_server
    from mcp_bridge.settings import BridgeSettings

    doc = json.loads((REFERENCE / "example-output.json").read_text())
    doc["errors"] = [{"name": "HistoryRangeError"}]
    output = tmp_path / "krr-output.json"
    output.write_text(json.dumps(doc))
    fake_krr(f"cat {output}")
    server = build_server(BridgeSettings(kubeconfig=str(sandbox.kubeconfig), source="krr"))
    async with Client(server) as client:
        scan = await client.call_tool("scan_recommendations", {})
    assert not scan.is_error, scan.content
    out = scan.structured_content
    assert out is not None and out["errors"] == [] and out["summary"]["errors"] == 0
    assert [w["message"].split(":")[1].strip() for w in out["warnings"]] == ["HistoryRangeError"]
    text = scan.content[0].text  # type: ignore[union-attr]
    assert "0 error(s)" in text and "warning: krr warned: HistoryRangeError" in text


async def test_an_impersonating_bridge_runs_krr_as_its_service_account(fake_krr, sandbox) -> None:  # type: ignore[no-untyped-def]
    """`krr-mcp serve` with a person's kubeconfig impersonates the bridge's ServiceAccount
    (mcp_bridge/identity.py); krr then acts as that ServiceAccount too, not as the person."""
    from mcp import Client

    from mcp_bridge.identity import IMPERSONATE_USER
    from mcp_bridge.server import build_server
    from mcp_bridge.settings import BridgeSettings

    args_file = fake_krr(f"cat {REFERENCE / 'example-output.json'}")
    account = "system:serviceaccount:krr-mcp-system:krr-mcp-bridge"
    with sandbox.api_client() as api_client:
        api_client.set_default_header(IMPERSONATE_USER, account)
        server = build_server(BridgeSettings(kubeconfig=str(sandbox.kubeconfig), source="krr"), api_client)
        async with Client(server) as client:
            scan = await client.call_tool("scan_recommendations", {})
    assert not scan.is_error, scan.content
    argv = json.loads(args_file.read_text())
    assert argv[argv.index("--as") + 1] == account
    plain = build_krr_args(ScanRequest(source="krr"))
    assert "--as" not in plain
