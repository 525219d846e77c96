"""Artifact flags for R-R intervals that a human heart cannot produce."""

import numpy as np

# Resting and exercise R-R intervals of adults lie within about 300-2000 ms
# (30-200 beats per minute); the experts never marked a beat outside that range.
DEFAULT_MIN_RR_MS = 300.0
DEFAULT_MAX_RR_MS = 2000.0


def flag_artifacts(
    rr_ms: np.ndarray,
    min_rr_ms: float = DEFAULT_MIN_RR_MS,
    max_rr_ms: float = DEFAULT_MAX_RR_MS,
) -> np.ndarray:
    """Return a boolean mask of beats whose interval lies outside [min_rr_ms, max_rr_ms].

    The bounds themselves are valid intervals.
    """
    rr_ms = np.asarray(rr_ms, dtype=float)
    return (rr_ms < min_rr_ms) | (rr_ms > max_rr_ms)
