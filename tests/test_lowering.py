"""Every registered loss lowers for GPU and TPU, checked on a CPU-only machine.

``jax.export`` lowers a jitted function for platforms other than the one at hand. A construct
that exists only on the CPU (a host callback, a CPU-only custom call, a lowering rule that
is registered for one platform) fails here, before it reaches a user's accelerator. Per loss:
the float32 forward (``reduction="mean"``) and the bfloat16 ``value_and_grad`` (what mixed
precision training runs), each exported for ``cuda`` and ``tpu`` together. The sharded
linear cross-entropy is exported on an 8-device mesh in tests/sharding_worker.py.

What this does not check: that the lowered program runs, or runs fast, on the accelerator.
scripts/gpu_check.sh does that when a GPU is at hand (README, "Where it runs").
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import pytest
from checks import abstract_sample
from jax import export

import lossjax
from lossjax import registry

PLATFORMS = ("cuda", "tpu")
SPECS = [registry.spec(n) for n in lossjax.names()]
# Custom calls that only a CPU runs (LAPACK, host callbacks); none may appear.
CPU_ONLY = re.compile(r"lapack|cpu|host_callback|xla_python", re.I)


def _cast(args, spec, dtype):
    return [jax.ShapeDtypeStruct(a.shape, dtype)
            if i in spec.diff_argnums and jnp.issubdtype(a.dtype, jnp.floating)
            else a for i, a in enumerate(args)]


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in SPECS])
def test_forward_and_gradient_lower_for_gpu_and_tpu(spec):
    # the sample's shapes and dtypes only (drawn abstractly: nothing compiles on the CPU);
    # hyperparameters that are arrays are inputs of the exported program
    args, static, arrays = abstract_sample(spec, jax.random.key(0), (4,), jnp.float32)

    def loss(*a):
        *a, kw = a
        return spec.fn(*a, **static, **kw)

    programs = {"forward float32": (loss, args)}
    if spec.differentiable:
        vag = jax.value_and_grad(loss, argnums=spec.diff_argnums)
        programs["value_and_grad bfloat16"] = (vag, _cast(args, spec, jnp.bfloat16))
    for what, (fn, a) in programs.items():
        exported = export.export(jax.jit(fn), platforms=PLATFORMS)(*a, arrays)
        assert exported.platforms == PLATFORMS, what
        targets = re.findall(r'call_target_name = "([^"]+)"|custom_call @(\w+)',
                             exported.mlir_module())
        cpu_only = [t for pair in targets for t in pair if t and CPU_ONLY.search(t)]
        assert not cpu_only, (what, cpu_only)


def test_a_cpu_only_construct_is_caught():
    """The check has teeth: a loss that calls back to the host does not export."""

    def host_loss(p, t):
        return jax.pure_callback(lambda a, b: (a - b) ** 2,
                                 jax.ShapeDtypeStruct(p.shape, p.dtype), p, t).mean()

    x = jax.ShapeDtypeStruct((4,), jnp.float32)
    with pytest.raises(Exception, match="(?i)callback"):
        export.export(jax.jit(host_loss), platforms=PLATFORMS)(x, x)
