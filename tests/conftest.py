"""Test configuration shared by the whole suite.

float64 is switched on for the suite so that reference comparisons and finite-difference
gradient checks can run in double precision. Every test that means float32 (or half
precision) builds its arrays with an explicit dtype, so this also catches a loss that
silently upcasts float32 inputs to float64.
"""

import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# The suite compiles thousands of small programs and runs each once or twice, so LLVM's
# optimisation of the generated code costs more than it saves (about a quarter of the suite's
# time on 2 CPU cores; BUILD_NOTES, "the test suite's time"). This switches off only the
# backend's optimisation level (jax_disable_most_optimizations: LLVM -O0, no expensive LLVM
# passes); XLA's HLO passes, fusion and buffer assignment are unchanged, so the tests that
# inspect compiled HLO or XLA's memory analysis see what users get. Subprocesses (the
# 8-device worker) inherit it. Set JAX_DISABLE_MOST_OPTIMIZATIONS=0 to test optimised code.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

# Custom losses registered as a user would: the registry-driven battery must pick them up.
import custom_losses  # noqa: E402,F401

# Tests that run for minutes in one piece (a subprocess with 8 devices) go first, so that
# pytest-xdist overlaps them with everything else instead of leaving them for the end.
FIRST = ("tests/test_sharding.py::test_every_loss_on_eight_devices",
         "tests/test_sharding.py::test_linear_cross_entropy_and_mesh_defaults_on_eight_devices",
         "tests/test_docs_guides.py::test_python_blocks_of_every_page_run_as_written",
         "tests/test_docs.py::test_docstring_examples_run_as_doctests")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.endswith(FIRST))


def pytest_collection_finish(session):
    """Warn when `--dist loadgroup` is on but the `xdist_group` marks were not applied.

    The battery caches each loss's compiled programs per process and marks each loss's tests
    with one xdist group; if the grouping is lost (pytest-dev/pytest-xdist#1386, pytest 9.2)
    every program is compiled on both workers and the suite takes much longer, silently.
    """
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist workers only
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        import warnings

        warnings.warn(
            f"--dist loadgroup did not group {len(lost)} marked tests (e.g. {lost[0]}): "
            "this pytest / pytest-xdist pair drops xdist_group (pytest-dev/pytest-xdist#1386)",
            stacklevel=1,
        )
