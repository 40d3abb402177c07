"""Text in an RR cannot rewrite a reviewer's terminal (issue 15, item 10).

A model-written `reason` with ANSI cursor moves and OSC sequences once rewrote the header lines of
`kubectl krr show` (risk, auto-rollback), and U+202E reorders text even in `kubectl describe`. The CRD
schema refuses such characters in the text fields a proposer writes (checked here through the real
kubectl against the sandbox, which enforces `pattern`), and every plugin output escapes them anyway,
whatever field they arrive in (status, history, annotations)."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from krr_mcp.api.text import UNSAFE_CHARACTER

from .test_plugin_sandbox import APPLY, RR_NAME, InProcess, Kubectl, krr, kubectl, rr_manifest, set_status

__all__ = ["krr", "kubectl"]  # the fixtures, shared with test_plugin_sandbox

# Clear the screen, move the cursor home, print a fake header; an OSC 8 hyperlink; a right-to-left override.
ANSI = "\x1b[2J\x1b[H\x1b[1mRisk: low   Auto-rollback: true\x1b[0m"
OSC = "\x1b]8;;https://attacker.example\x07click\x1b]8;;\x07"
BIDI = "reviewed \u202eexe.tnemevorppa\u202c ok"
HOSTILE = ANSI + OSC + BIDI


def test_the_schema_refuses_control_and_bidi_characters_in_proposer_text(kubectl: Kubectl) -> None:
    for field, value in (("reason", ANSI), ("reason", BIDI), ("approvedBy", "mallory\u202e")):
        manifest = copy.deepcopy(rr_manifest(name=f"hostile-{field.lower()}"))
        manifest["spec"][field] = value
        created = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
        assert created.returncode != 0, (field, value)
        assert f"spec.{field}" in created.stderr and "should match" in created.stderr, created.stderr


def _assert_escaped(output: str) -> None:
    assert not UNSAFE_CHARACTER.search(output.replace("\n", "")), repr(output)
    assert "\\x1b[2J" in output or "\\u202e" in output, output


def test_every_plugin_view_escapes_hostile_text_from_the_cluster(
    krr: InProcess, kubectl: Kubectl, seeded_sandbox: Any
) -> None:
    entry = {**APPLY, "actor": "alice" + BIDI, "message": HOSTILE}
    set_status(
        seeded_sandbox,
        {
            "phase": "Applied",
            "message": HOSTILE,
            "history": [entry],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "Hostile",
                    "message": HOSTILE,
                    "lastTransitionTime": "2026-11-25T09:05:00Z",
                }
            ],
        },
    )
    annotated = kubectl(
        "annotate", "rr", RR_NAME, "-n", "shop", f"krr-mcp.io/created-by=bridge{BIDI}", "--overwrite"
    )
    assert annotated.returncode == 0, annotated.stderr
    for args in (
        ("show", RR_NAME),
        ("show", RR_NAME, "-o", "plain"),
        ("show", RR_NAME, "-o", "table"),
        ("audit",),
        ("audit", "-o", "table"),
        ("list",),
        ("list", "-o", "table"),
    ):
        shown = krr("krr", *args, "-n", "shop")
        assert shown.returncode == 0, (args, shown.stderr)
        if args[0] != "list":
            _assert_escaped(shown.stdout)
        assert not UNSAFE_CHARACTER.search(shown.stdout.replace("\n", "")), (args, shown.stdout)
