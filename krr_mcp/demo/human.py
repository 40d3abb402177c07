"""The human's side of the demo: real kubectl commands, run as subprocesses and shown as typed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .narrator import Narrator, StepFailed


def tool_path() -> str:
    """PATH with this installation's bin directory first (its kubectl and kubectl-krr)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def find_kubectl() -> str:
    found = shutil.which("kubectl", path=tool_path())
    if not found:
        raise StepFailed("kubectl not found (neither next to this Python nor on PATH)")
    return found


class Human:
    """Runs kubectl against one kubeconfig; every command is printed before it runs."""

    def __init__(
        self, narrator: Narrator, kubeconfig: str, context: str | None = None, cache_dir: str | None = None
    ) -> None:
        """`cache_dir`: kubectl's discovery cache (KUBECACHEDIR) when ~/.kube/cache must not be used."""
        self.narrator = narrator
        self.context = context
        self.kubectl = find_kubectl()
        self.base = ["--kubeconfig", kubeconfig] + (["--context", context] if context else [])
        self.env = {**os.environ, "PATH": tool_path(), "KUBECONFIG": kubeconfig}
        if cache_dir:
            self.env["KUBECACHEDIR"] = cache_dir

    def run(
        self,
        *args: str,
        show: bool = True,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """kubectl `args`, shown as typed (with --context when the kubeconfig's current one is not used)."""
        # kubectl refuses flags before a plugin's name; the plugin takes the same flags after it.
        plugin = args[:1] == ("krr",)
        context = ["--context", self.context] if self.context else []
        argv = ["kubectl", *args, *context] if plugin else ["kubectl", *context, *args]
        if show:
            self.narrator.command(argv)
        full = [*args, *self.base] if plugin else [*self.base, *args]
        result = subprocess.run(
            [self.kubectl, *full],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if show and result.stdout:
            self.narrator.output(result.stdout)
        if show and result.returncode != 0 and result.stderr:
            self.narrator.output(result.stderr)
        if check and result.returncode != 0:
            raise StepFailed(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr.strip()}")
        return result

    def whoami(self) -> str:
        """The user name the API server sees for this kubeconfig (`kubectl auth whoami`)."""
        result = self.run("auth", "whoami", "-o", "json", show=False, check=False)
        if result.returncode == 0:
            name = ((json.loads(result.stdout).get("status") or {}).get("userInfo") or {}).get("username")
            if name:
                return str(name)
        raise StepFailed(f"`kubectl auth whoami` failed: {result.stderr.strip() or 'no user name'}")

    def merge_patch_rr(self, namespace: str, name: str, patch: dict) -> None:
        self.run(
            "patch",
            "resourcerecommendation",
            name,
            "-n",
            namespace,
            "--type",
            "merge",
            "-p",
            json.dumps(patch, separators=(",", ":")),
        )
