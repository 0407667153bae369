"""The registry, the README's generated table, and the docstring examples."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import lossjax
from lossjax import _readme, registry

ROOT = Path(__file__).resolve().parents[1]

# The core losses' canonical names -> aliases.
CORE_NAMES = {
    "squared_error": ["mse"],
    "absolute_error": ["mae", "l1"],
    "root_mean_squared_error": ["rmse"],
    "l2": [],
    "huber": [],
    "pseudo_huber": [],
    "log_cosh": [],
    "binary_cross_entropy": ["bce"],
    "binary_cross_entropy_with_logits": ["sigmoid_cross_entropy"],
    "sigmoid_focal": ["focal"],
    "hinge": [],
    "squared_hinge": [],
    "nll": [],
    "softmax_cross_entropy": ["cross_entropy"],
    "categorical_cross_entropy": [],
    "multiclass_hinge": [],
    "kl_divergence": [],
    "iou": [],
    "giou": [],
    "diou": [],
    "ciou": [],
    "zero_one": [],
    "accuracy": [],
    "chance_cross_entropy": [],
}


@pytest.mark.parametrize("name", sorted(CORE_NAMES))
def test_core_names_and_aliases_resolve(name):
    fn = lossjax.get(name)
    assert fn is getattr(lossjax, name)
    assert name in lossjax.names()
    for alias in CORE_NAMES[name]:
        assert lossjax.get(alias) is fn
        assert lossjax.aliases()[alias] == name


def test_public_names_are_exported():
    for name in lossjax.names():
        if lossjax.spec(name).builtin:
            assert name in lossjax.__all__, name
    for name in lossjax.__all__:
        assert hasattr(lossjax, name), name
    assert lossjax.__all__ == sorted(lossjax.__all__)


def test_metadata():
    s = lossjax.spec("focal")
    assert s.name == "sigmoid_focal" and s.task == "binary" and s.predictions == "logits"
    assert s.hyperparameters["gamma"].default == 2.0
    assert not lossjax.spec("accuracy").differentiable
    assert lossjax.spec("huber").convex and not lossjax.spec("huber").bounded
    assert set(lossjax.names(task="boxes")) >= {"iou", "giou", "diou", "ciou"}
    assert "accuracy" in lossjax.names(differentiable=False)
    assert "accuracy" not in lossjax.names(differentiable=True)
    for name in lossjax.names():
        s = lossjax.spec(name)
        assert s.task in registry.TASKS
        assert s.predictions in registry.PREDICTION_KINDS
        assert s.granularity in registry.GRANULARITIES


def test_unknown_names_get_a_helpful_error():
    with pytest.raises(KeyError, match="huber"):
        lossjax.get("hubber")
    with pytest.raises(TypeError):
        lossjax.get(3)


def test_custom_losses_are_registered_and_have_the_contract():
    # registered in custom_losses.py (imported by conftest), as a user would
    assert "test_quartic" in lossjax.names() and "test_brier" in lossjax.names()
    q = lossjax.get("test_quartic")
    p, t = jnp.array([1.0, 2.0, 3.0]), jnp.zeros(3)
    np.testing.assert_allclose(float(q(p, t, scale=2.0, reduction="sum")), 2 * (1 + 16 + 81))
    np.testing.assert_allclose(float(q(p, t, where=jnp.array([True, False, True]))), 41.0)
    with pytest.raises(ValueError, match="`scale`"):
        q(p, t, scale=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        q(p, t, reduction="avg")
    assert not lossjax.spec("test_quartic").builtin
    assert "test_quartic" not in _readme.markdown_table()


def test_register_rejects_duplicates_and_unregister_removes():
    @lossjax.register_elementwise("tmp_cube", bounded=False, convex=False, reference="x^3")
    def cube(p, t):
        return (p - t) ** 3

    try:
        with pytest.raises(ValueError, match="already registered"):
            lossjax.register_elementwise("tmp_cube", bounded=False, convex=False,
                                         reference="x^3")(cube)
        assert float(lossjax.get("tmp_cube")(jnp.array([2.0]), jnp.array([0.0]))) == 8.0
    finally:
        lossjax.unregister("tmp_cube")
    assert "tmp_cube" not in lossjax.names()
    with pytest.raises(KeyError):
        lossjax.unregister("tmp_cube")


def test_register_validates_its_metadata():
    with pytest.raises(ValueError, match="task"):
        lossjax.register_elementwise("tmp_bad", task="nonsense", bounded=True, convex=True,
                                     reference="-")(lambda p, t: p - t)
    assert "tmp_bad" not in lossjax.names()


def test_readme_table_is_in_sync_with_the_registry():
    text = (ROOT / "README.md").read_text()
    assert _readme.TABLE_BEGIN in text and _readme.TABLE_END in text
    assert _readme.readme_with_table(text) == text, (
        "README.md's loss table is stale: run `make readme`"
    )
    table = _readme.markdown_table()
    for name in lossjax.names():
        if lossjax.spec(name).builtin:
            assert f"`{name}`" in table


def test_readme_shows_the_two_commands_on_its_first_screen():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:30])
    assert "make demo" in head and "make test" in head


# Keyword arguments whose value is a loss's own coefficient (a margin, a temperature, a
# focusing power, a numerical floor): their defaults come from each loss's paper or peer.
PER_LOSS_COEFFICIENTS = {"alpha", "beta", "gamma", "eps", "epsilon", "margin", "p",
                         "temperature"}
# Shared options whose default differs on purpose, with the reason.
DEFAULT_EXCEPTIONS = {
    # no binary mode: 2 pixel axes is the only reading (None, elsewhere, asks the binary
    # mode to check that a third axis is not a batch axis)
    ("spatial_dims", "lovasz_softmax"): 2,
}


def test_shared_options_have_one_default():
    """An option that several losses take (ignore_index, class_weights, axis, from_logits,
    per_image, label_smoothing, ...) has the same default in every signature, so that the
    one default a user learns holds everywhere."""
    import inspect

    seen: dict[str, dict[object, list[str]]] = {}
    for name in registry.names():
        for p in inspect.signature(registry.spec(name).fn).parameters.values():
            if p.default is inspect.Parameter.empty or p.name in PER_LOSS_COEFFICIENTS:
                continue
            if DEFAULT_EXCEPTIONS.get((p.name, name), object()) == p.default:
                continue
            seen.setdefault(p.name, {}).setdefault(p.default, []).append(name)
    mixed = {arg: by_default for arg, by_default in seen.items() if len(by_default) > 1}
    assert not mixed, mixed
    assert len(seen["ignore_index"][-100]) >= 20 and seen["axis"][-1]
