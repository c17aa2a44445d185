"""Min/max downsampling: many samples to a few points per pixel column, spikes kept."""

from __future__ import annotations

import numpy as np

__all__ = ["minmax_downsample"]


def minmax_downsample(
    times: np.ndarray, values: np.ndarray, columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce samples to two points (the minimum and the maximum) per column.

    ``times`` has shape ``(n,)``; ``values`` shape ``(n,)`` or
    ``(channels, n)``.  With at most ``2 * columns`` samples they are
    returned unchanged.  Otherwise the samples are split into ``columns``
    runs of (nearly) equal length; each run gives its minimum and its
    maximum, in the order they occur, at the time of the run's first and
    middle sample, so a line through the points covers every sample's value
    (a single-sample spike stays visible).  NaN samples are ignored unless a
    whole run is NaN.
    """
    if columns < 1:
        raise ValueError("columns must be at least 1")
    n = times.shape[0]
    if n <= 2 * columns:
        return times, values
    squeeze = values.ndim == 1
    v = values[None, :] if squeeze else values
    edges = np.linspace(0, n, columns + 1).astype(np.int64)[:-1]
    with np.errstate(invalid="ignore"):
        filled_hi = np.where(np.isnan(v), -np.inf, v)
        filled_lo = np.where(np.isnan(v), np.inf, v)
    hi = np.maximum.reduceat(filled_hi, edges, axis=1)
    lo = np.minimum.reduceat(filled_lo, edges, axis=1)
    hi[np.isinf(hi)] = np.nan
    lo[np.isinf(lo)] = np.nan
    # which comes first in each run: order the pair as the samples occur
    run_of = np.repeat(np.arange(columns), np.diff(np.append(edges, n)))
    first_hi = _first_index(filled_hi, hi, run_of, columns)
    first_lo = _first_index(filled_lo, lo, run_of, columns)
    lo_first = first_lo <= first_hi
    out_v = np.empty((v.shape[0], 2 * columns))
    out_v[:, 0::2] = np.where(lo_first, lo, hi)
    out_v[:, 1::2] = np.where(lo_first, hi, lo)
    mids = np.minimum(edges + np.diff(np.append(edges, n)) // 2, n - 1)
    out_t = np.empty(2 * columns)
    out_t[0::2] = times[edges]
    out_t[1::2] = times[mids]
    return out_t, (out_v[0] if squeeze else out_v)


def _first_index(v: np.ndarray, target: np.ndarray, run_of: np.ndarray, columns: int) -> np.ndarray:
    """Per channel and run, the index of the first sample equal to the run's ``target``."""
    hit = v == np.where(np.isnan(target), np.inf, target)[:, run_of]
    idx = np.where(hit, np.arange(v.shape[1])[None, :], v.shape[1])
    starts = np.linspace(0, v.shape[1], columns + 1).astype(np.int64)[:-1]
    return np.minimum.reduceat(idx, starts, axis=1)
