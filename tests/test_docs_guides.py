"""The documentation site's hand-written pages are true: their code runs, their links hold.

* Every ```` ```python ```` block of ``docs/**/*.md`` runs as written, page by page in page
  order, in one namespace per page (as a reader runs them top to bottom), in a fresh process
  with JAX's defaults and 8 virtual CPU devices (the mesh guide needs them). A block that
  starts with ``>>>`` is a doctest: its printed output is checked too. A block preceded by
  ``<!-- illustrative -->`` is not run and must say why next to it (as in README.md).
* Every test the contract page names as keeping a promise (``tests/<file>.py::<name>``)
  exists.
* The migration guides' checkable claims about optax hold against the installed optax (the
  claims about PyTorch and Keras are checked in the family tests against re-implementations
  of their formulas, since neither is installable here; the guides cite those tests).
* The generated tables' derived properties stay consistent with the registry.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_docs import readme_blocks

import lossjax
from lossjax import registry

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import lossjax_tables  # noqa: E402


def doc_pages() -> list[Path]:
    """The hand-written Markdown pages: not the build, not ``_``-prefixed folders (committed
    results, extensions)."""
    return sorted(p for p in DOCS.rglob("*.md")
                  if not any(part.startswith("_") for part in p.relative_to(DOCS).parts))


RUN_PAGES = """
import doctest, json, sys, traceback
pages = json.load(sys.stdin)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
parser = doctest.DocTestParser()
ran = 0
for page, blocks in pages:
    namespace = {"__name__": "__docs__"}
    for line, code in blocks:
        where = f"{page} block at line {line}"
        if code.lstrip().startswith(">>>"):
            test = parser.get_doctest(code, namespace, where, page, line)
            failed, _ = runner.run(test, clear_globs=False)
            if failed:
                print(f"{where}: doctest failed", file=sys.stderr)
                sys.exit(1)
        else:
            try:
                exec(compile(code, where, "exec"), namespace)
            except BaseException:
                print(f"{where} failed:", file=sys.stderr)
                traceback.print_exc()
                sys.exit(1)
        ran += 1
print("RAN", ran)
"""


def test_python_blocks_of_every_page_run_as_written():
    pages = [(str(p.relative_to(ROOT)), readme_blocks(p.read_text(encoding="utf-8")))
             for p in doc_pages()]
    pages = [(page, blocks) for page, blocks in pages if blocks]
    total = sum(len(b) for _, b in pages)
    names = {page for page, _ in pages}
    for needed in ("docs/contract.md", "docs/guides/custom_loss.md",
                   "docs/guides/diagnostics.md", "docs/guides/large_vocab.md",
                   "docs/guides/meshes.md", "docs/migration/optax.md"):
        assert needed in names, f"{needed} has no Python example any more"
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    env["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT), env.get("PYTHONPATH")) if x)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    proc = subprocess.run([sys.executable, "-c", RUN_PAGES], input=json.dumps(pages),
                          capture_output=True, text=True, env=env, timeout=900, cwd=str(ROOT))
    assert proc.returncode == 0, (proc.stdout[-4000:], proc.stderr[-4000:])
    assert f"RAN {total}" in proc.stdout


def test_doctest_blocks_are_recognised():
    text = "```python\n>>> 1 + 1\n2\n```\n<!-- illustrative -->\n```python\nnot run\n```\n"
    assert [code for _, code in readme_blocks(text)] == [">>> 1 + 1\n2"]


# --------------------------------------------------------------------------------------------
# The contract page's promise -> test links


TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")


def _defined(path: Path, dotted: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope: list[ast.stmt] = tree.body
    *classes, name = dotted.split("::")
    for cls in classes:
        found = [n for n in scope if isinstance(n, ast.ClassDef) and n.name == cls]
        if not found:
            return False
        scope = found[0].body
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
               for n in scope)


def test_every_test_a_page_names_exists():
    refs = {page.name: TEST_REF.findall(page.read_text(encoding="utf-8"))
            for page in doc_pages()}
    assert len(refs["contract.md"]) >= 30, "the contract page lost its promise -> test table"
    assert len(refs["pytorch.md"]) >= 8, "the PyTorch guide lost its checked-by column"
    missing = [f"{page}: {f}::{t}" for page, found in refs.items() for f, t in found
               if not (ROOT / f).is_file() or not _defined(ROOT / f, t)]
    assert not missing, f"pages name tests that do not exist: {missing}"


def test_the_link_checker_can_fail():
    assert _defined(ROOT / "tests/test_contract.py", "test_dtypes")
    assert _defined(ROOT / "tests/test_contract.py",
                    "ReductionVariantsTest::test_mean_is_weighted_sum_over_weight_sum")
    assert not _defined(ROOT / "tests/test_contract.py", "test_no_such_test")
    assert not _defined(ROOT / "tests/test_contract.py", "NoSuchClass::test_dtypes")


# --------------------------------------------------------------------------------------------
# docs/migration/optax.md: each behaviour difference, against the installed optax


class TestOptaxDifferences:
    logits = jax.random.normal(jax.random.key(0), (4, 5), jnp.float32)
    labels = jnp.array([0, 3, 1, 4])

    def test_reduction_none_is_optaxs_array_and_mean_its_mean(self):
        ref = optax.losses.softmax_cross_entropy_with_integer_labels(self.logits, self.labels)
        np.testing.assert_allclose(
            lossjax.softmax_cross_entropy(self.logits, self.labels, reduction="none"), ref,
            rtol=1e-6)
        np.testing.assert_allclose(lossjax.softmax_cross_entropy(self.logits, self.labels),
                                   ref.mean(), rtol=1e-6)
        # one function for both label formats: probabilities go to optax's other function
        probs = jax.nn.softmax(2.0 * self.logits[::-1])
        np.testing.assert_allclose(
            lossjax.softmax_cross_entropy(self.logits, probs, reduction="none"),
            optax.losses.softmax_cross_entropy(self.logits, probs), rtol=1e-6)

    def test_label_smoothing_is_smooth_labels_on_the_one_hot(self):
        for alpha in (0.1, 0.35):
            smoothed = optax.smooth_labels(jax.nn.one_hot(self.labels, 5), alpha)
            np.testing.assert_allclose(
                lossjax.softmax_cross_entropy(self.logits, self.labels, label_smoothing=alpha,
                                              reduction="none"),
                optax.losses.softmax_cross_entropy(self.logits, smoothed), rtol=1e-6)

    def test_where_over_examples_zeroes_in_optax_and_is_left_out_of_lossjaxs_mean(self):
        keep = jnp.array([True, True, False, False])
        ref = optax.losses.softmax_cross_entropy_with_integer_labels(self.logits, self.labels,
                                                                     where=keep)
        assert float(ref[2]) == 0.0 and float(ref[3]) == 0.0
        ours = lossjax.softmax_cross_entropy(self.logits, self.labels, where=keep)
        np.testing.assert_allclose(ours, ref.sum() / 2, rtol=1e-6)
        assert abs(float(ours) - float(ref.mean())) > 0.1  # optax's .mean() divides by 4
        nothing = jnp.zeros(4, bool)
        assert float(lossjax.softmax_cross_entropy(self.logits, self.labels,
                                                   where=nothing)) == 0.0

    def test_a_class_mask_is_minus_inf_logits(self):
        allowed = jnp.array([True, True, True, False, True])
        labels = jnp.array([0, 2, 1, 4])
        masked = jnp.where(allowed, self.logits, -jnp.inf)
        ref = optax.losses.softmax_cross_entropy_with_integer_labels(
            self.logits, labels, where=jnp.broadcast_to(allowed, self.logits.shape))
        np.testing.assert_allclose(
            lossjax.softmax_cross_entropy(masked, labels, reduction="none"), ref, rtol=1e-6)
        g = jax.grad(lambda x: lossjax.softmax_cross_entropy(x, labels))(masked)
        assert np.all(np.isfinite(np.asarray(g))) and not np.any(np.asarray(g)[:, 3])

    def test_squared_error_and_l2_loss(self):
        p, t = jnp.array([2.0, -1.0]), jnp.array([0.5, 0.5])
        np.testing.assert_allclose(lossjax.squared_error(p, t, reduction="none"),
                                   optax.losses.squared_error(p, t))
        np.testing.assert_allclose(lossjax.l2(p, t, reduction="none"),
                                   optax.losses.l2_loss(p, t))
        np.testing.assert_allclose(optax.losses.l2_loss(p, t),
                                   0.5 * optax.losses.squared_error(p, t))

    def test_cosine_distance_of_a_zero_vector(self):
        a, b = jnp.zeros((1, 3)), jnp.ones((1, 3))
        assert np.isnan(float(optax.losses.cosine_distance(a, b)[0]))
        assert float(lossjax.cosine_distance(a, b)) == 1.0

    def test_ctc_impossible_alignment_and_lengths(self):
        logits = jnp.zeros((1, 2, 3))                      # 2 frames for 3 labels
        labels = jnp.array([[1, 1, 2]])
        ref = optax.losses.ctc_loss(logits, jnp.zeros((1, 2)), labels, jnp.zeros((1, 3)))
        assert 5e4 < float(ref[0]) < 2e5                   # about 1e5 per missing frame
        assert float(lossjax.ctc(logits, labels)) == np.inf
        assert float(lossjax.ctc(logits, labels, zero_infinity=True)) == 0.0
        # paddings -> lengths: one sequence of 4 frames, 2 used, and 2 labels of 3
        x = jax.random.normal(jax.random.key(1), (1, 4, 3))
        lab = jnp.array([[1, 2, 0]])
        ref = optax.losses.ctc_loss(x, jnp.array([[0.0, 0.0, 1.0, 1.0]]), lab,
                                    jnp.array([[0.0, 0.0, 1.0]]))
        np.testing.assert_allclose(
            lossjax.ctc(x, lab, jnp.array([2]), jnp.array([2]), reduction="none"), ref,
            rtol=1e-5)


# --------------------------------------------------------------------------------------------
# docs/migration/keras.md: Keras 3's formulas re-implemented in NumPy from its source
# (keras-team/keras, keras/src/losses/loss.py: reduce_values, reduce_weighted_values;
# keras/src/backend/jax/nn.py: binary_crossentropy, categorical_crossentropy;
# keras/src/losses/losses.py: hinge with convert_binary_labels_to_hinge, kl_divergence).

KERAS_EPS = 1e-7  # keras.config.epsilon()


def keras_reduce(values, sample_weight, reduction="sum_over_batch_size"):
    values = values * sample_weight
    if reduction == "mean_with_sample_weight":
        return values.sum() / sample_weight.sum()
    return values.sum() / values.size


def keras_bce(y_true, y_pred, from_logits):
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if from_logits:
        log_p, log_1p = -np.logaddexp(0, -y_pred), -np.logaddexp(0, y_pred)
        per = -(y_true * log_p + (1 - y_true) * log_1p)
    else:
        p = np.clip(y_pred, KERAS_EPS, 1 - KERAS_EPS)
        per = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return per.mean(-1)  # BinaryCrossentropy: mean over the last axis


def keras_categorical_ce(y_true, y_pred):
    y_pred = np.asarray(y_pred, np.float64)
    y_pred = y_pred / y_pred.sum(-1, keepdims=True)
    return -np.sum(y_true * np.log(np.clip(y_pred, KERAS_EPS, 1 - KERAS_EPS)), -1)


def keras_hinge(y_true, y_pred):
    y_true = np.asarray(y_true, np.float64)
    if set(np.unique(y_true)) <= {0.0, 1.0}:  # convert_binary_labels_to_hinge
        y_true = 2 * y_true - 1
    return np.mean(np.maximum(1 - y_true * y_pred, 0), -1)


def keras_kld(y_true, y_pred):
    y_true = np.clip(np.asarray(y_true, np.float64), KERAS_EPS, 1)
    y_pred = np.clip(np.asarray(y_pred, np.float64), KERAS_EPS, 1)
    return np.sum(y_true * np.log(y_true / y_pred), -1)


class TestKerasDifferences:
    y = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    logits = np.array([[-1.0, 2.0], [0.5, 1.5], [0.3, -2.0]])
    w = np.array([1.0, 0.5, 2.0])

    def test_default_reduction_is_sum_over_the_number_of_losses(self):
        keras = keras_reduce(keras_bce(self.y, self.logits, True), self.w)
        ours = lossjax.binary_cross_entropy_with_logits(
            jnp.asarray(self.logits), jnp.asarray(self.y), weights=jnp.asarray(self.w)[:, None],
            reduction="sum") / self.y.size
        np.testing.assert_allclose(ours, keras, rtol=1e-6)

    def test_mean_with_sample_weight_is_lossjaxs_mean(self):
        keras = keras_reduce(keras_bce(self.y, self.logits, True), self.w,
                             "mean_with_sample_weight")
        ours = lossjax.binary_cross_entropy_with_logits(
            jnp.asarray(self.logits), jnp.asarray(self.y), weights=jnp.asarray(self.w)[:, None])
        np.testing.assert_allclose(ours, keras, rtol=1e-6)
        assert abs(float(ours) - keras_reduce(keras_bce(self.y, self.logits, True),
                                              self.w)) > 1e-3  # the two divisions differ

    def test_probabilities_at_zero_and_one(self):
        p, t = np.array([[0.0, 1.0, 0.3]]), np.array([[1.0, 0.0, 1.0]])
        keras = -np.log(KERAS_EPS)
        np.testing.assert_allclose(keras_bce(t[:, :1], p[:, :1], False), [keras])
        assert 16.1 < keras < 16.2
        ours = lossjax.binary_cross_entropy(jnp.asarray(p), jnp.asarray(t), reduction="none")
        np.testing.assert_allclose(ours[0, :2], [100.0, 100.0])
        # inside the clip range the two agree
        np.testing.assert_allclose(ours[0, 2], keras_bce(t[:, 2:], p[:, 2:], False)[0],
                                   rtol=1e-6)

    def test_categorical_rows_are_renormalised_by_keras_only(self):
        p = np.array([[0.2, 0.3, 0.5], [0.4, 0.8, 0.8]])  # the second row sums to 2
        labels = np.array([2, 1])
        onehot = np.eye(3)[labels]
        ours = lossjax.categorical_cross_entropy(jnp.asarray(p), jnp.asarray(labels),
                                                 reduction="none")
        keras = keras_categorical_ce(onehot, p)
        np.testing.assert_allclose(ours[0], keras[0], rtol=1e-6)
        np.testing.assert_allclose(ours[1], -np.log(0.8), rtol=1e-6)
        np.testing.assert_allclose(keras[1], -np.log(0.4), rtol=1e-12)

    def test_hinge_labels_in_zero_one_are_converted_by_keras_only(self):
        y01, scores = np.array([[0.0, 1.0, 1.0]]), np.array([[0.3, -0.2, 2.0]])
        keras = keras_hinge(y01, scores)
        np.testing.assert_allclose(lossjax.hinge(jnp.asarray(scores), jnp.asarray(2 * y01 - 1)),
                                   keras[0], rtol=1e-6)
        assert abs(float(lossjax.hinge(jnp.asarray(scores), jnp.asarray(y01))) - keras[0]) > 0.05

    def test_kl_divergence_takes_log_probabilities(self):
        y_true = np.array([[0.2, 0.3, 0.5]])
        y_pred = np.array([[0.1, 0.6, 0.3]])
        np.testing.assert_allclose(
            lossjax.kl_divergence(jnp.log(jnp.asarray(y_pred)), jnp.asarray(y_true)),
            keras_kld(y_true, y_pred)[0], rtol=1e-6)

    def test_cosine_similarity_is_minus_cos(self):
        a, b = np.array([[1.0, 2.0, 2.0]]), np.array([[2.0, 0.0, 1.0]])
        cos = float(np.sum(a * b)) / (np.linalg.norm(a) * np.linalg.norm(b))
        np.testing.assert_allclose(
            lossjax.cosine_distance(jnp.asarray(a), jnp.asarray(b)), 1 - cos, rtol=1e-6)


# --------------------------------------------------------------------------------------------
# docs/_ext/lossjax_tables.py: the derived properties of the choosing table


def test_derived_property_tables_name_registered_losses():
    names = set(registry.names())
    for table in (lossjax_tables.ROBUST, lossjax_tables.PROPER,
                  lossjax_tables.IMBALANCE_BY_FORM):
        assert set(table) <= names, set(table) - names
    # a bounded loss is robust by derivation: listing it would be a second source
    assert not [n for n in lossjax_tables.ROBUST if registry.spec(n).bounded]
    # every imbalance knob named exists on some loss
    hypers = {h for n in names for h in registry.spec(n).hyperparameters}
    assert set(lossjax_tables.IMBALANCE) <= hypers


def _expected_loss_gradient(name: str, p: np.ndarray) -> np.ndarray:
    """Gradient in the logits z of E_{y ~ p}[loss(q(z), y)] at z = log p, where the loss reads
    q(z) in its own kind of predictions. Zero for a proper scoring rule."""
    spec = registry.spec(name)
    fn = spec.fn
    kind = spec.predictions
    if spec.task == "binary":
        def expected(z):  # p is P(y = 1), z its logit
            pred = jax.nn.sigmoid(z) if kind == "probabilities" else z
            one = fn(pred, jnp.ones_like(z), reduction="none")
            zero = fn(pred, jnp.zeros_like(z), reduction="none")
            return jnp.sum(p * one + (1 - p) * zero)
        return np.asarray(jax.grad(expected)(jnp.log(p) - jnp.log1p(-p)))
    if spec.task == "multilabel":  # independent labels: every y in {0, 1}^K with its probability
        ys = jnp.asarray(np.array(np.meshgrid(*[[0.0, 1.0]] * len(p))).reshape(len(p), -1).T)
        prob = jnp.prod(jnp.where(ys == 1, p, 1 - p), axis=1)

        def expected(z):
            batch = jnp.broadcast_to(z, ys.shape)
            return jnp.sum(prob * fn(batch, ys, reduction="none"))
        return np.asarray(jax.grad(expected)(jnp.log(p) - jnp.log1p(-p)))

    def expected(z):
        pred = {"logits": z, "probabilities": jax.nn.softmax(z),
                "log_probabilities": jax.nn.log_softmax(z)}[kind]
        batch = jnp.broadcast_to(pred, (len(p),) + pred.shape)
        per_label = fn(batch, jnp.arange(len(p)), reduction="none")
        return jnp.sum(p * per_label)
    return np.asarray(jax.grad(expected)(jnp.log(p)))


@pytest.mark.parametrize("name", sorted(set(lossjax_tables.PROPER) - {"linear_cross_entropy"}))
def test_losses_marked_proper_are_minimised_by_the_true_probabilities(name):
    # linear_cross_entropy is softmax_cross_entropy of hidden @ weight.T (checked above)
    p = np.array([0.2, 0.7]) if registry.spec(name).task in ("binary", "multilabel") \
        else np.array([0.2, 0.5, 0.3])
    g = _expected_loss_gradient(name, jnp.asarray(p, jnp.float32))
    np.testing.assert_allclose(g, 0.0, atol=1e-6)


@pytest.mark.parametrize("name", ["sigmoid_focal", "softmax_focal", "hinge",
                                  "generalized_cross_entropy"])
def test_a_loss_not_marked_proper_is_not_minimised_there(name):
    assert name not in lossjax_tables.PROPER
    p = np.array([0.2, 0.7]) if registry.spec(name).task == "binary" \
        else np.array([0.2, 0.5, 0.3])
    g = _expected_loss_gradient(name, jnp.asarray(p, jnp.float32))
    assert np.max(np.abs(g)) > 1e-2, g
