"""The test harness that runs the operator in a thread: ready inside the block, stopped and joined after
it, and an operator that dies is an error of the test, never a thread failing silently."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from krr_operator.main import OperatorConfig

from .operator_harness import OperatorFailed, operator_running


def test_the_operator_is_stopped_and_joined_after_the_block(operator_config: OperatorConfig) -> None:
    with operator_running(operator_config, idle_interval=0.3) as op:
        assert op.ready.is_set() and op.thread.is_alive()
        assert op.cfg.idle_interval == 0.3 and op.cfg.halted is not operator_config.halted
    assert not op.thread.is_alive()


def test_an_operator_that_dies_starting_fails_the_test(
    operator_config: OperatorConfig, tmp_path: Path
) -> None:
    broken = dataclasses.replace(operator_config, kubeconfig=str(tmp_path / "missing-kubeconfig"))
    with pytest.raises(OperatorFailed, match="died"), operator_running(broken):
        pass  # never reached: the failure of the operator's thread is raised on entry


def test_a_killed_operator_leaves_no_thread_waiting_for_its_stop_flag(
    operator_config: OperatorConfig,
) -> None:
    """kopf waits for a threading.Event stop flag in an executor thread; a killed operator whose flag
    stayed unset left that thread waiting, and pytest's exit hung joining it after the last test."""
    before = set(threading.enumerate())
    with operator_running(operator_config, idle_interval=0.3) as op:
        op.kill()
    assert op.stop_flag.is_set()
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
        assert not thread.is_alive(), f"{thread.name} outlived the killed operator"
