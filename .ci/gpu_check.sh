#!/usr/bin/env bash
# The prepared GPU check (README, "Where it runs"). Run from the repository root on a machine
# with a CUDA GPU and JAX with CUDA, optax, chex, flax and pytest installed; it installs
# nothing and takes about 8 minutes on one GPU. Results go to $OUT (default results/gpu_check):
#   env.txt          JAX version, devices
#   pytest.txt       kernel and contract tests for a sample of losses, on the GPU
#   benchmark/       the speed benchmark's key rows (lossjax vs optax vs floor, ratios per round)
#   lce.json         fused linear cross-entropy vs the naive path, bfloat16, V = 128k
# Each step runs even if an earlier one failed; the exit status is that of the first failure.
# GPU_CHECK_DRY_RUN=1 runs the same steps on the CPU at small sizes (to test this script).
set -uo pipefail
OUT=${OUT:-results/gpu_check}
mkdir -p "$OUT"
status=0
step() { echo "== $*" >&2; "$@" || { rc=$?; echo "== failed ($rc): $*" >&2; [ $status -ne 0 ] || status=$rc; }; }

step bash -c "python -c 'import jax, jaxlib, optax; print(\"jax\", jax.__version__, \"jaxlib\", jaxlib.__version__, \"optax\", optax.__version__); print(jax.devices())' | tee '$OUT/env.txt'"
SIZE=4194304 SHAPES=8192x1000,4096x8192,2048x32768 TOKENS=4096 VOCAB=131072 WIDTH=512
if [ "${GPU_CHECK_DRY_RUN:-0}" = 1 ]; then
  SIZE=65536 SHAPES=256x1000 TOKENS=256 VOCAB=8192 WIDTH=64
elif ! grep -qiE "cuda|gpu" "$OUT/env.txt"; then
  echo "no GPU visible to JAX; stopping" >&2; exit 3
fi

# Contract battery for a sample of families plus the fused kernels and the linear CE; the
# registry-wide quick test (value, reductions, FD gradient) for every loss; the fused
# kernels' own tests. float64 runs where the tests ask for it (slow on a GPU, but small).
SAMPLE="softmax_cross_entropy or huber or sigmoid_focal or kl_divergence or dice or ntxent or ctc or linear_cross_entropy"
step bash -c "timeout 270 python -m pytest -q -p no:cacheprovider -x tests/test_contract.py -k '$SAMPLE' tests/test_fused.py tests/test_quick_every_loss.py 2>&1 | tail -n 40 | tee '$OUT/pytest.txt'; exit \${PIPESTATUS[0]}"

# Speed: the key rows (element-wise losses at 2^22, softmax CE at the three shapes), float32.
step timeout 150 python -m experiments.benchmark \
  --losses squared_error,huber,log_cosh,binary_cross_entropy_with_logits,sigmoid_focal,hinge,softmax_cross_entropy \
  --sizes $SIZE --class_shapes $SHAPES --ce_cases plain --peers optax,naive --repeats 11 \
  --e2e=false --out "$OUT/benchmark"

# Fused linear cross-entropy in bfloat16 at V = 128k (N = 4096 tokens, D = 512).
step timeout 90 python -m experiments.benchmark_lce --dtype bfloat16 --tokens $TOKENS \
  --vocab $VOCAB --width $WIDTH --impls naive,lossjax --repeats 5 --out "$OUT/lce.json"

exit $status
