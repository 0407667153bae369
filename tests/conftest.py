"""Test configuration shared by the whole suite.

float64 is switched on for the suite so that reference comparisons and finite-difference
gradient checks can run in double precision. Every test that means float32 (or half
precision) builds its arrays with an explicit dtype, so this also catches a loss that
silently upcasts float32 inputs to float64.
"""

import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

# Custom losses registered as a user would: the registry-driven battery must pick them up.
import custom_losses  # noqa: E402,F401

# Tests that run for minutes in one piece (a subprocess with 8 devices) go first, so that
# pytest-xdist overlaps them with everything else instead of leaving them for the end.
FIRST = ("tests/test_sharding.py::test_on_eight_devices",)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.endswith(FIRST))
