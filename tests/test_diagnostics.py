"""Tests of lossjax.diagnostics: loss summary, chance baseline, calibration, over-fitting onset.

Reference values are computed by hand (the arithmetic is in the comments), by NumPy in the
test, or by scikit-learn's ``calibration_curve`` (a dev dependency).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lossjax
from lossjax import diagnostics

# --------------------------------------------------------------------------------------------
# loss_summary


def test_exported_from_package():
    assert "diagnostics" in lossjax.__all__
    assert lossjax.diagnostics is diagnostics


def test_summary_small_example_by_hand():
    s = diagnostics.loss_summary(jnp.array([1.0, 2.0, 3.0, 4.0], jnp.float32), top_k=(1, 2, 9))
    # total 10; the top 1 carries 4/10, the top 2 (4 + 3)/10, k larger than n carries all.
    assert s.count == 4 and s.total == pytest.approx(10.0)
    assert s.top_k_share == pytest.approx({1: 0.4, 2: 0.7, 9: 1.0})
    assert s.top_indices.tolist() == [3, 2, 1, 0]
    assert s.half_share_count == 2  # 4 < 5 <= 4 + 3
    # median 2.5, absolute deviations (1.5, 0.5, 0.5, 1.5) -> MAD 1.0;
    # threshold = 2.5 + 3.5 * 1.4826 * 1.0 = 7.6891.
    assert s.median == pytest.approx(2.5)
    assert s.threshold == pytest.approx(2.5 + 3.5 * 1.4826)
    assert s.outliers.size == 0 and s.verdict == "broad"
    assert s.histogram_counts.sum() == 4
    assert s.histogram_edges[0] == 1.0 and s.histogram_edges[-1] == 4.0


def test_summary_quantiles_match_numpy():
    x = np.random.default_rng(0).gamma(2.0, 1.0, size=257)
    s = diagnostics.loss_summary(x, quantile_levels=(0.1, 0.5, 0.95), bins=7)
    for q in (0.1, 0.5, 0.95):
        assert s.quantiles[q] == pytest.approx(np.quantile(x, q))
    counts, edges = np.histogram(x, bins=7)
    np.testing.assert_array_equal(s.histogram_counts, counts)
    np.testing.assert_allclose(s.histogram_edges, edges)
    assert s.mean == pytest.approx(x.mean())


def test_summary_names_a_planted_outlier():
    rng = np.random.default_rng(1)
    x = rng.exponential(0.3, size=100)
    x[37] = 40.0
    s = diagnostics.loss_summary(jnp.asarray(x, jnp.float32))
    assert s.top_indices[0] == 37
    assert 37 in s.outliers.tolist()
    assert s.top_k_share[1] == pytest.approx(40.0 / x.sum(), rel=1e-5)
    assert s.verdict == "few_outliers"
    assert "a few outliers" in s.describe()


def test_summary_threshold_is_at_least_the_mean_for_skewed_losses():
    # Most samples fitted almost perfectly: the MAD is tiny (scaled 0.0074, so the modified
    # z-score threshold is 0.036) and would flag the 0.06 losses; the mean (5.44 / 20 = 0.272)
    # is the threshold instead, and only the sample that makes the mean high is flagged.
    x = np.array([0.01] * 10 + [0.02] * 5 + [0.06] * 4 + [5.0])
    s = diagnostics.loss_summary(x)
    assert s.threshold == pytest.approx(x.mean())
    assert s.outliers.tolist() == [19]
    assert s.half_share_count == 1
    assert s.verdict == "few_outliers"


def test_summary_everything_bad_is_broad():
    # Every sample has a high loss: no sample stands out, the verdict must not blame outliers.
    x = np.random.default_rng(2).uniform(2.0, 3.0, size=200)
    s = diagnostics.loss_summary(x, baseline=math.log(2.0))
    assert s.outliers.size == 0
    assert s.verdict == "broad"
    assert s.top_k_share[10] < 0.1
    assert "spread over the samples" in s.describe()
    assert "times the baseline" in s.describe()


def test_summary_many_high_losses_are_not_a_few_outliers():
    # 30% of the samples are far above the rest: they are flagged, but they are not "a few".
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(0.05, 0.15, 70), rng.uniform(4.0, 6.0, 30)])
    s = diagnostics.loss_summary(x)
    assert s.outliers.size == 30
    assert s.outlier_share > 0.9
    assert s.verdict == "broad"


def test_summary_mad_zero_falls_back_to_mean_deviation():
    # median 1, MAD 0; mean absolute deviation 4/7 -> scale 1.2533 * 4/7 = 0.7162,
    # threshold 1 + 3.5 * 0.7162 = 3.507 < 5.
    s = diagnostics.loss_summary(np.array([1.0] * 6 + [5.0]))
    assert s.threshold == pytest.approx(1.0 + 3.5 * 1.2533 * 4 / 7)
    assert s.outliers.tolist() == [6]
    # All equal: no deviation at all, nobody is above the median.
    assert diagnostics.loss_summary(np.ones(5)).outliers.size == 0


def test_summary_where_and_nonfinite_and_flat_indices():
    x = np.array([[0.1, 0.2, 0.0], [0.15, np.nan, 9.0], [0.12, 0.11, 0.0]])
    keep = np.array([[True, True, False], [True, True, True], [True, True, False]])
    s = diagnostics.loss_summary(x, where=keep)
    assert s.count == 6 and s.nonfinite == 1
    assert s.top_indices[0] == 5  # flat index of 9.0 in x.ravel()
    assert s.outliers.tolist() == [5]
    assert s.median == pytest.approx(np.median([0.1, 0.2, 0.15, 9.0, 0.12, 0.11]))
    assert "non-finite" in s.describe()


def test_summary_errors():
    with pytest.raises(ValueError, match="no finite loss"):
        diagnostics.loss_summary(np.array([np.nan, np.inf]))
    with pytest.raises(TypeError, match="where"):
        diagnostics.loss_summary(np.ones(3), where=np.ones(3))
    with pytest.raises(ValueError, match="where"):
        diagnostics.loss_summary(np.ones(3), where=np.ones(4, bool))
    with pytest.raises(ValueError, match="top_k"):
        diagnostics.loss_summary(np.ones(3), top_k=(0,))
    with pytest.raises(ValueError, match="quantile"):
        diagnostics.loss_summary(np.ones(3), quantile_levels=(1.5,))


def test_summary_of_a_lossjax_loss_with_reduction_none():
    logits = jnp.array([3.0, -2.0, 2.5, -4.0, 3.0, -3.0], jnp.float32)
    labels = jnp.array([1.0, 0.0, 1.0, 0.0, 0.0, 0.0], jnp.float32)  # index 4 is mislabelled
    per = lossjax.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    s = diagnostics.loss_summary(per, top_k=(1,))
    assert s.top_indices.tolist() == [4]
    assert s.outliers.tolist() == [4]


# --------------------------------------------------------------------------------------------
# chance_baseline


def test_chance_baseline_binary():
    b = diagnostics.chance_baseline(jnp.array([0, 1, 0, 1], jnp.float32))
    assert b.cross_entropy == pytest.approx(math.log(2.0), rel=1e-6)
    assert b.accuracy == 0.5
    # one positive in four: entropy -(0.25 ln 0.25 + 0.75 ln 0.75) = 0.562335
    b = diagnostics.chance_baseline(jnp.array([0, 0, 1, 0], jnp.float32))
    assert b.cross_entropy == pytest.approx(0.5623351446, rel=1e-6)
    assert b.accuracy == 0.75
    np.testing.assert_allclose(b.frequencies, [0.75, 0.25])


def test_chance_baseline_multiclass_and_weights():
    b = diagnostics.chance_baseline(jnp.arange(8) % 4, num_classes=4)
    assert b.cross_entropy == pytest.approx(math.log(4.0), rel=1e-6)
    assert b.accuracy == 0.25
    # weights (3, 1): frequencies (0.75, 0.25), as if the first sample appeared 3 times.
    b = diagnostics.chance_baseline(jnp.array([0, 1]), num_classes=2,
                                    weights=jnp.array([3.0, 1.0]))
    np.testing.assert_allclose(b.frequencies, [0.75, 0.25])
    assert b.cross_entropy == pytest.approx(0.5623351446, rel=1e-6)
    # A class that never occurs has frequency 0 and costs nothing.
    b = diagnostics.chance_baseline(jnp.array([0, 0, 2, 2]), num_classes=3)
    np.testing.assert_allclose(b.frequencies, [0.5, 0.0, 0.5])
    assert b.cross_entropy == pytest.approx(math.log(2.0), rel=1e-6)
    with pytest.raises(TypeError, match="integer"):
        diagnostics.chance_baseline(jnp.array([0.0, 1.0]), num_classes=2)


# --------------------------------------------------------------------------------------------
# calibration


def _calibration_loop(conf, hit, num_bins):
    """Independent reference: explicit loop over samples, bin = min(floor(c * B), B - 1)."""
    counts = np.zeros(num_bins)
    acc = np.zeros(num_bins)
    cs = np.zeros(num_bins)
    for c, h in zip(conf, hit, strict=True):
        b = min(int(np.floor(c * num_bins)), num_bins - 1)
        counts[b] += 1
        acc[b] += h
        cs[b] += c
    ne = counts > 0
    gap = np.abs(acc[ne] / counts[ne] - cs[ne] / counts[ne])
    return counts, float(np.sum(counts[ne] * gap) / counts.sum()), float(gap.max())


def test_calibration_binary_matches_sklearn_calibration_curve():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p**1.5).astype(np.int32)  # miscalibrated on purpose
    c = diagnostics.calibration(jnp.asarray(p, jnp.float64), jnp.asarray(y), num_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    ne = np.asarray(c.bin_counts) > 0
    np.testing.assert_allclose(np.asarray(c.bin_accuracy)[ne], prob_true, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(c.bin_confidence)[ne], prob_pred, rtol=1e-12)
    counts, ece, mce = _calibration_loop(p, y, 10)
    np.testing.assert_array_equal(np.asarray(c.bin_counts), counts)
    assert float(c.ece) == pytest.approx(ece, rel=1e-12)
    assert float(c.mce) == pytest.approx(mce, rel=1e-12)


def test_calibration_multiclass_matches_loop():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(300, 5)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 5, size=300)
    c = diagnostics.calibration(jnp.asarray(probs, jnp.float64), jnp.asarray(labels),
                                num_bins=8)
    counts, ece, mce = _calibration_loop(probs.max(-1), probs.argmax(-1) == labels, 8)
    np.testing.assert_array_equal(np.asarray(c.bin_counts), counts)
    assert float(c.ece) == pytest.approx(ece, rel=1e-12)
    assert float(c.mce) == pytest.approx(mce, rel=1e-12)
    # The class axis may be elsewhere.
    c2 = diagnostics.calibration(jnp.asarray(probs.T, jnp.float64), jnp.asarray(labels),
                                 num_bins=8, axis=0)
    assert float(c2.ece) == pytest.approx(ece, rel=1e-12)


def test_calibration_hand_example_and_empty_bins():
    # 4 samples at p=0.9 with 3 positives: |0.75 - 0.9| = 0.15 with weight 4/6;
    # 2 samples at p=0.2, no positive: |0 - 0.2| = 0.2 with weight 2/6 -> ECE 1/6, MCE 0.2.
    p = jnp.array([0.9, 0.9, 0.9, 0.9, 0.2, 0.2], jnp.float32)
    y = jnp.array([1, 1, 1, 0, 0, 0])
    c = diagnostics.calibration(p, y, num_bins=5)
    assert float(c.ece) == pytest.approx(1 / 6, rel=1e-6)
    assert float(c.mce) == pytest.approx(0.2, rel=1e-6)
    assert c.ece.dtype == jnp.float32
    acc = np.asarray(c.bin_accuracy)
    assert np.isnan(acc[[0, 2, 3]]).all()
    assert acc[4] == pytest.approx(0.75) and acc[1] == 0.0


def test_calibration_edges_weights_where_and_jit():
    # p = 0 falls in the first bin and p = 1 in the last.
    c = diagnostics.calibration(jnp.array([0.0, 1.0], jnp.float32), jnp.array([0, 1]),
                                num_bins=4)
    assert np.asarray(c.bin_counts).tolist() == [1.0, 0.0, 0.0, 1.0]
    assert float(c.ece) == 0.0
    p = jnp.array([0.1, 0.7, 0.8, 0.35], jnp.float32)
    y = jnp.array([0.0, 1.0, 0.0, 1.0], jnp.float32)
    keep = jnp.array([True, False, True, True])
    a = diagnostics.calibration(p, y, num_bins=5, where=keep)
    b = diagnostics.calibration(p, y, num_bins=5, weights=keep.astype(jnp.float32))
    assert float(a.ece) == pytest.approx(float(b.ece))
    f = jax.jit(functools.partial(diagnostics.calibration, num_bins=5))
    assert float(f(p, y).ece) == pytest.approx(float(diagnostics.calibration(p, y,
                                                                             num_bins=5).ece))
    # Nothing kept: ECE 0, not NaN.
    none = diagnostics.calibration(p, y, num_bins=5, where=jnp.zeros(4, bool))
    assert float(none.ece) == 0.0


def test_calibration_perfect_vs_overconfident():
    rng = np.random.default_rng(5)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=20000) < p).astype(np.float32)
    good = float(diagnostics.calibration(jnp.asarray(p, jnp.float32), y).ece)
    # Push every probability halfway to 0 or 1: over-confident by construction.
    sharp = np.where(p > 0.5, (1 + p) / 2, p / 2)
    bad = float(diagnostics.calibration(jnp.asarray(sharp, jnp.float32), y).ece)
    assert good < 0.02
    assert bad > 0.1


def test_calibration_errors():
    with pytest.raises(ValueError, match="num_bins"):
        diagnostics.calibration(jnp.ones(3), jnp.ones(3), num_bins=0)
    with pytest.raises(ValueError, match="shape"):
        diagnostics.calibration(jnp.ones((3, 2)), jnp.ones((2,), jnp.int32))
    with pytest.raises(TypeError, match="integer"):
        diagnostics.calibration(jnp.ones((3, 2)), jnp.ones((3,)))
    with pytest.raises(TypeError, match="floating"):
        diagnostics.calibration(jnp.ones(3, jnp.int32), jnp.ones(3))


# --------------------------------------------------------------------------------------------
# overfitting_onset


def _curves(epochs=80, turn=30, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    e = np.arange(epochs)
    train = 2.0 * np.exp(-e / 10) + 0.01
    val = 0.6 + 1.4 * np.exp(-e / 10) + 0.004 * np.maximum(e - turn, 0) ** 1.5
    return train, val + noise * rng.normal(size=epochs)


def test_onset_found_near_the_turn_despite_noise():
    train, val = _curves()
    r = diagnostics.overfitting_onset(train, val, patience=5, smoothing=5)
    assert r.overfitting
    # The noise-free curve has its minimum at epoch 30 (+-2 for noise and smoothing).
    clean = _curves(noise=0.0)[1]
    true_min = int(np.argmin(clean))
    assert abs(r.onset_epoch - true_min) <= 4
    np.testing.assert_allclose(r.generalization_gap, val - train)
    assert r.final_gap == pytest.approx(val[-1] - train[-1])
    assert r.rise > 0.5
    # Without smoothing the noise makes a single epoch the best; the rule still finds a turn.
    assert diagnostics.overfitting_onset(train, val, smoothing=1).overfitting


def test_no_onset_for_decreasing_or_flat_curves():
    e = np.arange(60)
    train = np.exp(-e / 10)
    rng = np.random.default_rng(6)
    dec = 1.0 + np.exp(-e / 15) + 0.01 * rng.normal(size=60)
    r = diagnostics.overfitting_onset(train, dec, patience=5, smoothing=5)
    assert r.onset_epoch is None and not r.overfitting and r.rise == 0.0
    flat = np.concatenate([np.linspace(2, 1, 20), np.ones(40)]) + 1e-4 * rng.normal(size=60)
    r = diagnostics.overfitting_onset(train, flat, patience=5, min_delta=1e-3, smoothing=1)
    assert r.onset_epoch is None


def test_later_improvement_cancels_an_onset():
    # Down, a bump of 6 epochs, then further down (a second descent): no over-fitting.
    val = np.concatenate([np.linspace(2, 1, 10), np.linspace(1.05, 1.3, 6),
                          np.linspace(0.9, 0.5, 20)])
    train = np.zeros_like(val)
    assert diagnostics.overfitting_onset(train, val, patience=3, smoothing=1).onset_epoch is None
    # The same bump at the end is a persistent rise.
    val2 = val[:16]
    r = diagnostics.overfitting_onset(train[:16], val2, patience=3, smoothing=1)
    assert r.onset_epoch == 9 and r.best_epoch == 9


def test_patience_longer_than_the_rise():
    val = np.concatenate([np.linspace(2, 1, 10), np.linspace(1.1, 1.3, 3)])
    train = np.zeros_like(val)
    assert diagnostics.overfitting_onset(train, val, patience=4, smoothing=1).onset_epoch is None
    assert diagnostics.overfitting_onset(train, val, patience=3, smoothing=1).onset_epoch == 9


def test_onset_errors():
    with pytest.raises(ValueError, match="equal length"):
        diagnostics.overfitting_onset(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="patience"):
        diagnostics.overfitting_onset(np.ones(3), np.ones(3), patience=0)
    with pytest.raises(ValueError, match="smoothing"):
        diagnostics.overfitting_onset(np.ones(3), np.ones(3), smoothing=4)
    with pytest.raises(ValueError, match="min_delta"):
        diagnostics.overfitting_onset(np.ones(3), np.ones(3), min_delta=-1.0)
    with pytest.raises(ValueError, match="non-finite"):
        diagnostics.overfitting_onset(np.ones(3), np.array([1.0, np.nan, 1.0]))


# --------------------------------------------------------------------------------------------
# the chance baseline of integer labels; named outliers; short curves


def test_chance_baseline_infers_the_classes_of_integer_labels():
    # The README's call, chance_baseline(y), on 10 balanced integer classes: ln 10 and 1/10
    # (it was NaN, accuracy 0.9 and two "binary" frequencies, reading labels 1..9 as positive).
    b = diagnostics.chance_baseline(jnp.arange(20) % 10)
    assert b.cross_entropy == pytest.approx(math.log(10.0), rel=1e-6)
    assert b.accuracy == pytest.approx(0.1)
    np.testing.assert_allclose(b.frequencies, np.full(10, 0.1))
    # max + 1 classes; the same as num_classes=max + 1 (a class above the max cannot be seen)
    y = jnp.array([0, 0, 3, 1, 3, 3])
    got, want = diagnostics.chance_baseline(y), diagnostics.chance_baseline(y, num_classes=4)
    assert got.cross_entropy == want.cross_entropy and got.accuracy == want.accuracy
    np.testing.assert_array_equal(got.frequencies, want.frequencies)
    # integer {0, 1} labels are the binary task: the same numbers as float targets
    yb = jnp.array([0, 1, 1, 1])
    ib, fb = diagnostics.chance_baseline(yb), diagnostics.chance_baseline(yb.astype(jnp.float32))
    assert ib.cross_entropy == pytest.approx(fb.cross_entropy, rel=1e-6)
    np.testing.assert_allclose(ib.frequencies, fb.frequencies)
    # a single observed class 0 still means two classes (frequencies [1, 0], entropy 0)
    one = diagnostics.chance_baseline(jnp.zeros(4, jnp.int32))
    np.testing.assert_allclose(one.frequencies, [1.0, 0.0])
    assert one.cross_entropy == 0.0 and one.accuracy == 1.0


def test_chance_baseline_says_when_it_cannot_infer_the_classes():
    y = jnp.arange(6) % 3
    with pytest.raises(ValueError, match="num_classes"):
        jax.jit(lambda t: diagnostics.chance_baseline(t).cross_entropy)(y)
    with pytest.raises(ValueError, match="num_classes"):
        diagnostics.chance_baseline(jnp.array([0, -1, 2]))
    with pytest.raises(ValueError, match=r"num_classes=3"):
        diagnostics.chance_baseline(jnp.array([0, 1, 3]), num_classes=3)


def test_describe_never_compares_with_a_nan_baseline():
    losses = np.random.default_rng(8).exponential(size=30)
    with pytest.raises(ValueError, match="baseline"):
        diagnostics.loss_summary(losses, baseline=float("nan"))
    text = diagnostics.loss_summary(
        losses, baseline=diagnostics.chance_baseline(jnp.arange(30) % 10).cross_entropy
    ).describe()
    assert "nan" not in text.lower()
    assert "times the baseline 2.303" in text
    # a zero baseline (a single class) is said in words, not divided by
    text0 = diagnostics.loss_summary(losses, baseline=0.0).describe()
    assert "baseline is 0" in text0 and "inf" not in text0


def test_describe_names_the_outliers():
    rng = np.random.default_rng(9)
    x = rng.exponential(0.3, size=100)
    x[[12, 37, 80]] = [25.0, 40.0, 30.0]
    s = diagnostics.loss_summary(x)
    assert s.outliers[:3].tolist() == [37, 80, 12]
    np.testing.assert_array_equal(s.outlier_losses, x[s.outliers])
    text = s.describe()
    assert "#37 (40), #80 (30), #12 (25)" in text
    # bounded: the first max_named are named, the rest counted
    n = s.outliers.size
    short = s.describe(max_named=2)
    assert "#37 (40), #80 (30) and " + f"{n - 2} more" in short and "#12 (25)" not in short
    assert "#" not in diagnostics.loss_summary(np.ones(5)).describe()  # no outliers, no names


def test_onset_defaults_fit_a_short_curve():
    # 8 epochs that clearly turn at epoch 3: the fixed defaults patience=5 and
    # smoothing=5 could not see it; the defaults from the length (patience 2, no smoothing) do.
    val = np.array([1.0, 0.8, 0.65, 0.6, 0.62, 0.7, 0.8, 0.9])
    r = diagnostics.overfitting_onset(np.zeros(8), val)
    assert (r.onset_epoch, r.best_epoch, r.patience, r.smoothing) == (3, 3, 2, 1)
    assert r.rise == pytest.approx(0.3)
    # With the old fixed values the report says why it cannot tell.
    r = diagnostics.overfitting_onset(np.zeros(8), val, patience=5, smoothing=1)
    assert r.onset_epoch is None
    assert "only 4 epoch(s) follow the best epoch 3" in r.reason and "too short" in r.reason
    # The long-curve defaults are unchanged: 5 and 5 from 25 epochs on.
    r = diagnostics.overfitting_onset(*_curves())
    assert (r.patience, r.smoothing) == (5, 5)
    assert diagnostics.overfitting_onset(np.zeros(12), np.ones(12)).smoothing == 3


def test_onset_reason_when_there_is_none():
    e = np.arange(10.0)
    down = diagnostics.overfitting_onset(np.zeros(10), 1.0 / (1.0 + e))
    assert down.onset_epoch is None and "still at its lowest at the last epoch" in down.reason
    flat = np.concatenate([np.linspace(2, 1, 5), np.ones(5)])
    r = diagnostics.overfitting_onset(np.zeros(10), flat, smoothing=1, min_delta=1e-6)
    assert r.onset_epoch is None and "flat" in r.reason
    bump = np.concatenate([np.linspace(2, 1, 10), [1.1, 1.2]])
    r = diagnostics.overfitting_onset(np.zeros(12), bump, patience=3, smoothing=1)
    assert r.onset_epoch is None and "only 2 epoch(s)" in r.reason
    # best at epoch 2, a plateau of 2 epochs, then 1 epoch above: a rise shorter than patience
    rising = np.array([2.0, 1.5, 1.0, 1.0, 1.0, 1.2])
    r = diagnostics.overfitting_onset(np.zeros(6), rising, patience=3, smoothing=1)
    assert r.onset_epoch is None
    assert "risen for the last 1 epoch(s), fewer than patience=3" in r.reason
    found = diagnostics.overfitting_onset(np.zeros(8), np.array([1, .8, .65, .6, .62, .7, .8, .9]))
    assert "rose above its value at epoch 3" in found.reason
