"""The krr CLI adapter with a fake `krr` executable on PATH (krr itself is not installable here)."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import stat
import sys
import time

import pytest
from krr_mcp_bridge.recommenders import (
    KrrCliError,
    KrrOutputError,
    ScanRequest,
    get_recommendations,
)
from krr_mcp_bridge.recommenders.krr_cli import build_krr_args, run_krr

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
    assert argv[:4] == ["simple", "-f", "json", "-q"]
    assert argv == build_krr_args(request)
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


def test_other_strategies_get_only_common_settings_plus_extra_args() -> None:
    args = build_krr_args(
        ScanRequest(
            source="krr", strategy="simple_limit", krr_extra_args=["--cpu_request=66", "--cpu_limit=96"]
        )
    )
    assert args[:4] == ["simple_limit", "-f", "json", "-q"]
    assert "--history_duration=336" in args and "--timeframe_duration=1.25" in args
    assert not any(a.startswith("--cpu_percentile") for a in args)
    assert args[-2:] == ["--cpu_request=66", "--cpu_limit=96"]
    simple = build_krr_args(ScanRequest(use_oomkill_data=True, allow_hpa=True))
    assert "--allow_hpa" in simple and "--use_oomkill_data" in simple
    assert "--oom_memory_buffer_percentage=25" in simple and "--points_required=100" in simple
