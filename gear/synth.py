"""Additive synthesis of harmonic tones (the paper's Eq. 1), vectorized.

A tone of fundamental ``f1`` is a sum of ``P`` harmonics whose amplitudes
fall as ``p ** -alpha`` and whose odd and even partials differ by a
factor set by ``r``, under a Hann window::

    y(t) = window(t) * sum_{p=1}^{P} (1 + (-1)**p * r) / p**alpha * cos(2 pi p f1 t)

With ``r = 0`` all harmonics follow the same power law; with ``r = 1`` the
odd harmonics vanish (only even ``p`` remain), with ``r = -1`` the even ones.
"""

import numpy as np

__all__ = ["harmonic_amplitudes", "additive_tones"]

# Sounds synthesized per block, and elements of a cosine table: bound memory.
_BLOCK_SIZE = 4096
_TABLE_ELEMENTS = 2**24


def harmonic_amplitudes(alpha, r, n_harmonics):
    """Amplitude of each harmonic, zero beyond each sound's harmonic count.

    Parameters
    ----------
    alpha : np.ndarray [shape=(n_sounds,)]
        Spectral decay exponent.
    r : np.ndarray [shape=(n_sounds,)]
        Odd-to-even amplitude difference.
    n_harmonics : np.ndarray [shape=(n_sounds,)], int
        Number of harmonics ``P`` of each sound.

    Returns
    -------
    amplitudes : np.ndarray [shape=(n_sounds, max(n_harmonics))]
        ``(1 + (-1)**p * r) / p**alpha`` for ``p <= P``, else 0.
    """
    alpha = np.asarray(alpha, dtype=np.float64)[:, np.newaxis]
    r = np.asarray(r, dtype=np.float64)[:, np.newaxis]
    n_harmonics = np.asarray(n_harmonics)
    p = np.arange(1, max(int(n_harmonics.max(initial=0)), 0) + 1)
    amplitudes = (1 + np.power(-1, p) * r) / np.power(p, alpha)
    amplitudes[p[np.newaxis, :] > n_harmonics[:, np.newaxis]] = 0.0
    return amplitudes


def additive_tones(f1, alpha, r, t, n_harmonics, window=None):
    """Synthesize harmonic tones by additive synthesis.

    Sounds that share a fundamental share one table of cosines, so a grid
    with few distinct ``f1`` costs one matrix product per fundamental;
    otherwise every sound gets its own table, in bounded blocks. There is
    no Python loop over sounds or harmonics.

    Parameters
    ----------
    f1 : np.ndarray [shape=(n_sounds,)]
        Fundamental frequency, in the unit that makes ``f1 * t`` a number
        of cycles (Hz with ``t`` in seconds, or cycles per frame with
        ``t`` in frames).
    alpha : np.ndarray [shape=(n_sounds,)]
        Spectral decay exponent.
    r : np.ndarray [shape=(n_sounds,)]
        Odd-to-even amplitude difference.
    t : np.ndarray [shape=(n_samples,)]
        Time of each sample.
    n_harmonics : np.ndarray [shape=(n_sounds,)], int
        Number of harmonics of each sound.
    window : np.ndarray [shape=(n_samples,)] or None
        Window multiplied with every tone; None for none.

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, n_samples)], float64

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(8) / 8
    >>> y = additive_tones([1.0], [0.0], [0.0], t, [1])
    >>> np.allclose(y[0], np.cos(2 * np.pi * t))
    True
    """
    f1 = np.asarray(f1, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    n_harmonics = np.asarray(n_harmonics, dtype=np.int64)
    t = np.asarray(t, dtype=np.float64)
    if not f1.shape == alpha.shape == r.shape == n_harmonics.shape or f1.ndim != 1:
        raise ValueError(
            "f1, alpha, r and n_harmonics must be 1-D arrays of equal length, got "
            f"shapes {f1.shape}, {alpha.shape}, {r.shape}, {n_harmonics.shape}"
        )
    audio = np.empty((f1.size, t.size))
    for start in range(0, f1.size, _BLOCK_SIZE):
        block = slice(start, start + _BLOCK_SIZE)
        audio[block] = _additive_block(f1[block], alpha[block], r[block], t, n_harmonics[block])
    if window is not None:
        audio *= np.asarray(window, dtype=np.float64)
    return audio


def _additive_block(f1, alpha, r, t, n_harmonics):
    amplitudes = harmonic_amplitudes(alpha, r, n_harmonics)
    p = np.arange(1, amplitudes.shape[1] + 1)
    unique_f1, f1_index = np.unique(f1, return_inverse=True)
    if unique_f1.size * 8 > f1.size:
        # Fundamentals rarely shared: one cosine table per sound, in
        # sub-blocks that keep the (sounds, harmonics, samples) table small.
        audio = np.empty((f1.size, t.size))
        step = max(1, _TABLE_ELEMENTS // (p.size * t.size))
        for start in range(0, f1.size, step):
            block = slice(start, start + step)
            cosines = np.cos(_phase(p, f1[block])[:, :, np.newaxis] * t)
            audio[block] = np.einsum("np,npt->nt", amplitudes[block], cosines)
        return audio
    # Fundamentals shared by many sounds: one cosine table per fundamental
    # and one matrix product per table (a loop over the few distinct f1).
    cosines = np.cos(_phase(p, unique_f1)[:, :, np.newaxis] * t)
    audio = np.empty((f1.size, t.size))
    for u in range(unique_f1.size):
        members = f1_index == u
        audio[members] = amplitudes[members] @ cosines[u]
    return audio


def _phase(p, f1):
    # Same operation order as the published code (2 pi p f1 t), so that
    # the cosines are bit-identical to it.
    return (2 * np.pi * p[np.newaxis, :]) * f1[:, np.newaxis]
