"""Two real processes, as on two hosts: ``jax.distributed.initialize`` + gloo collectives on CPU.

The test starts two copies of tests/multiprocess_worker.py on 127.0.0.1 (a free port, two
virtual CPU devices each, so a mesh of four devices over two processes), waits for them with
a time limit, and always kills both before it returns. The worker imports lossjax at the top
and initialises the distributed runtime afterwards, as users write it. Each result it
gathers to the host is compared here with the same computation in this single process:
batch-sharded registered losses and their gradients, the fused linear cross-entropy data
parallel over the processes and vocabulary parallel over each process's devices, and four
optax (Adam) steps of a small MLP ending at the same parameters.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import multiprocess_worker as worker  # noqa: E402

NUM_PROCESSES = 2
TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_group(out: Path) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    port = _free_port()
    procs = []
    try:
        for i in range(NUM_PROCESSES):
            procs.append(subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "multiprocess_worker.py"), str(port),
                 str(i), str(NUM_PROCESSES), str(out)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                cwd=str(ROOT), start_new_session=True,
            ))
        logs = [p.communicate(timeout=TIMEOUT_S)[0] for p in procs]
    finally:
        for p in procs:  # no orphans: on a failure or a time-out, end every process
            if p.poll() is None:
                p.kill()
                p.wait()
    for i, (p, log) in enumerate(zip(procs, logs, strict=True)):
        assert p.returncode == 0, f"process {i} exited with {p.returncode}:\n{log[-4000:]}"
    return json.loads(out.read_text())


# Every test here reads one run of the two-process group: keep them on one xdist worker, or
# each worker would start the group again (18 s of two processes each time).
pytestmark = pytest.mark.xdist_group("multiprocess")


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    return _run_group(tmp_path_factory.mktemp("multiprocess") / "results.json")


# float32 on both sides; the sums over the batch run in another order across processes
# (per-device partial sums, then an all-reduce), so agreement is up to float32 rounding.
TOL = dict(rtol=2e-5, atol=2e-6)


def test_the_group_spans_two_processes(group):
    assert group["process_count"] == NUM_PROCESSES
    assert group["device_count"] == 2 * NUM_PROCESSES
    assert group["local_device_count"] == 2


@pytest.mark.parametrize("name", sorted(worker.CASES))
def test_batch_sharded_loss_and_gradient_equal_one_process(group, name):
    d = worker.data()
    value, grad = worker.loss_value_and_grad(name)(*worker.case_inputs(name, d))
    np.testing.assert_allclose(group[name]["value"], value, **TOL)
    np.testing.assert_allclose(group[name]["grad"], grad, **TOL)


def test_linear_cross_entropy_data_and_vocabulary_parallel_equals_one_process(group):
    d = worker.data()
    value, (dh, dw) = worker.lce_value_and_grad()(d["hidden"], d["out_weight"], d["tokens"])
    got = group["linear_cross_entropy"]
    np.testing.assert_allclose(got["value"], value, **TOL)
    np.testing.assert_allclose(got["dh"], dh, **TOL)
    np.testing.assert_allclose(got["dw"], dw, **TOL)


def test_training_steps_end_at_the_same_parameters(group):
    d = worker.data()
    params, losses = worker.train({"w1": d["w1"], "w2": d["w2"]}, d["x"], d["labels"])
    got = group["train"]
    np.testing.assert_allclose(got["losses"], np.asarray(losses), **TOL)
    assert got["losses"][-1] < got["losses"][0]  # the steps do train
    for k, v in params.items():
        np.testing.assert_allclose(got["params"][k], jax.device_get(v), **TOL)
