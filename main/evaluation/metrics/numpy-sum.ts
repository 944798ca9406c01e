// numpy's float64 summation, reproduced so that the app's metrics are the same doubles as the Python reference
// (training/sightline_eval/metrics.py), not merely close: numpy adds a contiguous float64 array in blocks of its
// buffer size (8192 elements), left to right from 0, and each block by pairwise summation (eight running
// partial sums up to 128 elements, halves above). Checked bit for bit by test/vectors/eval-metrics.json.
const BUFFER = 8192;
const BLOCK = 128;

function pairwise(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= BLOCK) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const p = start + i;
      r0 += a[p];
      r1 += a[p + 1];
      r2 += a[p + 2];
      r3 += a[p + 3];
      r4 += a[p + 4];
      r5 += a[p + 5];
      r6 += a[p + 6];
      r7 += a[p + 7];
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2);
}

/** `numpy.sum` of the first `n` values (default all) of a float64 array, in numpy's order of additions. */
export function numpySum(a: ArrayLike<number>, n: number = a.length): number {
  let total = 0;
  for (let start = 0; start < n; start += BUFFER) total += pairwise(a, start, Math.min(BUFFER, n - start));
  return total;
}

/** `numpy.mean` of the first `n` values (NaN when n is 0, as numpy's mean of an empty array). */
export function numpyMean(a: ArrayLike<number>, n: number = a.length): number {
  return n === 0 ? NaN : numpySum(a, n) / n;
}

/** `numpy.var` (population, ddof 0) of the first `n` values; overwrites them with the squared deviations. */
export function numpyVarInPlace(a: Float64Array, n: number, mean: number = numpyMean(a, n)): number {
  for (let i = 0; i < n; i++) {
    const d = a[i] - mean;
    a[i] = d * d;
  }
  return numpySum(a, n) / n;
}
