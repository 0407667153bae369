"""Importing lossjax does no JAX work: no computation, no compilation, no device query.

Each check runs in a fresh interpreter (this process has long since started its backend),
imports lossjax and every one of its modules first, as users do at the top of a script,
and then shows that what must come before JAX's backend starts still works afterwards:
``XLA_FLAGS`` set after the import still takes effect; ``jax.distributed.initialize`` still
runs; and JAX logged no compilation during the import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORT_ALL = """
import importlib, pkgutil
import jax
import lossjax
modules = sorted(m.name for m in pkgutil.iter_modules(lossjax.__path__))
for m in modules:
    importlib.import_module("lossjax." + m)
assert len(modules) >= 10, modules
"""


def _run(code: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=120, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_import_compiles_nothing_and_starts_no_backend():
    proc = _run(IMPORT_ALL + """
from jax._src import xla_bridge
print("BACKEND_STARTED", xla_bridge.backends_are_initialized())
""", JAX_LOG_COMPILES="1")
    assert "BACKEND_STARTED False" in proc.stdout, proc.stdout
    assert "Compiling" not in proc.stderr, proc.stderr[-3000:]


def test_xla_flags_set_after_the_import_still_take_effect():
    proc = _run(IMPORT_ALL + """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
print("DEVICES", jax.device_count())
""")
    assert "DEVICES 8" in proc.stdout, proc.stdout


def test_distributed_initialize_after_the_import_still_works():
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _run(IMPORT_ALL + f"""
jax.distributed.initialize(coordinator_address="127.0.0.1:{port}", num_processes=1,
                           process_id=0)
import jax.numpy as jnp
print("PROCESSES", jax.process_count())
print("LOSS", float(lossjax.huber(jnp.array([0.5]), jnp.array([0.0]))))
jax.distributed.shutdown()
""")
    assert "PROCESSES 1" in proc.stdout and "LOSS 0.125" in proc.stdout, proc.stdout
