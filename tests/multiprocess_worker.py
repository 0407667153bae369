"""One process of the two-process check in test_multiprocess.py (also its single-process twin).

Written the way a user writes a multi-host training script: ``import lossjax`` at the top,
then ``jax.distributed.initialize`` (which works only because importing lossjax starts no
JAX backend), a mesh over ``jax.devices()``, global arrays assembled from each process's
own rows with ``jax.make_array_from_process_local_data``, and the loss code unchanged.

``python multiprocess_worker.py PORT PROCESS_ID NUM_PROCESSES OUT_JSON`` runs one process of
the group (started by the test with ``XLA_FLAGS=--xla_force_host_platform_device_count=2``
and CPU collectives over gloo, on 127.0.0.1 only). Process 0 writes every result, gathered
to the host, to ``OUT_JSON``. The data are made from fixed seeds by :func:`data`, which the
test also calls to compute the same things in its own single process.
"""

from __future__ import annotations

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lossjax
import lossjax.sharding as ls

N, K = 16, 10  # batch and classes of the classification checks
TOKENS, D, V = 32, 8, 24  # fused linear cross-entropy
STEPS, LR = 4, 0.05  # training steps of the small MLP

# Losses checked batch-sharded over the processes: element-wise, per-example with integer
# labels (ignore_index and class weights on), a divergence, a box loss.
CASES = {
    "softmax_cross_entropy": dict(label_smoothing=0.1, class_weights=np.linspace(0.5, 2.0, K)),
    "huber": dict(delta=0.5),
    "kl_divergence": {},
    "giou": {},
}


def data() -> dict[str, np.ndarray]:
    """The global inputs of every check, from fixed seeds (float32, as users train)."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    labels = rng.integers(0, K, N)
    labels[3] = -100  # ignore_index
    probs = rng.dirichlet(np.ones(K), N).astype(f32)
    xy = rng.uniform(0, 4, (N, 2, 2)).astype(f32)
    wh = rng.uniform(0.5, 2, (N, 2, 2)).astype(f32)
    return {
        "logits": rng.normal(size=(N, K)).astype(f32),
        "labels": labels.astype(np.int32),
        "values": rng.normal(size=(N, 3)).astype(f32),
        "value_targets": rng.normal(size=(N, 3)).astype(f32),
        "log_probs": np.log(rng.dirichlet(np.ones(K), N)).astype(f32),
        "probs": probs,
        "boxes": np.concatenate([xy[:, 0], xy[:, 0] + wh[:, 0]], -1),
        "box_targets": np.concatenate([xy[:, 1], xy[:, 1] + wh[:, 1]], -1),
        "weights": rng.uniform(0.2, 2.0, N).astype(f32),
        "hidden": rng.normal(size=(TOKENS, D)).astype(f32),
        "out_weight": (0.5 * rng.normal(size=(V, D))).astype(f32),
        "tokens": rng.integers(0, V, TOKENS).astype(np.int32),
        "x": rng.normal(size=(N, 6)).astype(f32),
        "w1": (0.4 * rng.normal(size=(6, 16))).astype(f32),
        "w2": (0.4 * rng.normal(size=(16, K))).astype(f32),
    }


def case_inputs(name: str, d: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """``(predictions, targets, weights)`` of a case (per-example weights; a trailing axis
    for the per-element loss)."""
    w = d["weights"]
    return {
        "softmax_cross_entropy": (d["logits"], d["labels"], w),
        "huber": (d["values"], d["value_targets"], w[:, None]),
        "kl_divergence": (d["log_probs"], d["probs"], w),
        "giou": (d["boxes"], d["box_targets"], w),
    }[name]


def loss_value_and_grad(name: str):
    """``jit(value_and_grad)`` of the weighted mean of a registered loss."""
    kwargs = CASES[name]

    def f(p, t, w):
        return lossjax.get(name)(p, t, weights=w, **kwargs)

    return jax.jit(jax.value_and_grad(f))


def lce_value_and_grad(mesh=None):
    """``jit(value_and_grad)`` of the fused linear cross-entropy: on ``mesh`` data parallel
    over ``"data"`` and vocabulary parallel over ``"model"``, else on one device."""
    opts = dict(label_smoothing=0.1, z_loss=1e-3, chunk_size=8)

    def f(h, w, y):
        if mesh is None:
            return lossjax.linear_cross_entropy(h, w, y, **opts)
        return ls.sharded_linear_cross_entropy(h, w, y, mesh=mesh, batch_axis="data",
                                               vocab_axis="model", **opts)

    return jax.jit(jax.value_and_grad(f, argnums=(0, 1)))


def train(params, x, y, steps: int = STEPS):
    """A few optax (Adam) steps of a two-layer MLP classifier; the step is one jitted call."""
    opt = optax.adam(LR)

    def loss_fn(p, x, y):
        logits = jnp.tanh(x @ p["w1"]) @ p["w2"]
        return lossjax.softmax_cross_entropy(logits, y)

    @jax.jit
    def step(p, state, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        updates, state = opt.update(g, state, p)
        return optax.apply_updates(p, updates), state, loss

    state = opt.init(params)
    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state, x, y)
        losses.append(loss)
    return params, losses


def main(port: int, process_id: int, num_processes: int, out: str) -> None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}",
                               num_processes=num_processes, process_id=process_id)
    from jax.experimental import multihost_utils

    d = data()
    me, n_proc = jax.process_index(), jax.process_count()

    def mine(x: np.ndarray) -> np.ndarray:  # this process's rows of a global batch
        rows = x.shape[0] // n_proc
        return x[me * rows:(me + 1) * rows]

    def host(x) -> list:  # a global array, gathered to every process's host
        return np.asarray(multihost_utils.process_allgather(x, tiled=True)).tolist()

    results: dict[str, object] = {
        "process_count": n_proc, "device_count": jax.device_count(),
        "local_device_count": jax.local_device_count(),
    }

    # 1. registered losses, batch split over every device of every process
    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    for name in CASES:
        args = [jax.make_array_from_process_local_data(ls.batch_sharding(mesh, a.ndim), mine(a))
                for a in case_inputs(name, d)]
        value, grad = loss_value_and_grad(name)(*args)
        results[name] = {"value": host(value), "grad": host(grad)}

    # 2. fused linear cross-entropy: tokens split over the processes ("data"), vocabulary
    #    rows over the two devices of each process ("model")
    mesh2 = jax.make_mesh((n_proc, jax.local_device_count()), ("data", "model"))
    h = jax.make_array_from_process_local_data(ls.batch_sharding(mesh2, 2), mine(d["hidden"]))
    y = jax.make_array_from_process_local_data(ls.batch_sharding(mesh2, 1), mine(d["tokens"]))
    w_sharding = ls.vocab_sharding(mesh2)
    w = jax.make_array_from_callback(d["out_weight"].shape, w_sharding,
                                     lambda index: d["out_weight"][index])
    with jax.set_mesh(mesh2):
        value, (dh, dw) = lce_value_and_grad(mesh2)(h, w, y)
    results["linear_cross_entropy"] = {"value": host(value), "dh": host(dh), "dw": host(dw)}

    # 3. a jitted optax training step, batch split over the processes, parameters replicated
    x = jax.make_array_from_process_local_data(ls.batch_sharding(mesh, 2), mine(d["x"]))
    labels = jax.make_array_from_process_local_data(ls.batch_sharding(mesh, 1),
                                                    mine(d["labels"]))
    params = ls.replicate({"w1": d["w1"], "w2": d["w2"]}, mesh)
    params, losses = train(params, x, labels)
    results["train"] = {"params": {k: host(v) for k, v in params.items()},
                        "losses": [host(v) for v in losses]}

    if me == 0:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(results, fh)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
