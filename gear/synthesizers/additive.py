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

# Sounds synthesized per block, and elements of a block's float64 buffer
# and of a cosine table: bound memory.
_BLOCK_SIZE = 4096
_BUFFER_ELEMENTS = 2**22
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


def additive_tones(f1, alpha, r, t, n_harmonics, window=None, dtype=np.float64):
    """Synthesize harmonic tones by additive synthesis.

    Sounds that share a fundamental share one table of (windowed) cosines,
    so a grid with few distinct ``f1`` costs one matrix product per
    fundamental and block of sounds; otherwise every sound gets its own
    table, in bounded blocks. There is no Python loop over sounds or
    harmonics. Sums are accumulated in float64 whatever ``dtype``.

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
    dtype : np.dtype
        Type of the output. float32 halves the memory of large datasets;
        each sample is then the float64 result rounded once.

    Returns
    -------
    audio : np.ndarray [shape=(n_sounds, n_samples)], ``dtype``

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
    window = None if window is None else np.asarray(window, dtype=np.float64)
    audio = np.empty((f1.size, t.size), dtype=dtype)
    unique_f1, f1_index = np.unique(f1, return_inverse=True)
    if unique_f1.size * 8 > f1.size:
        _distinct_fundamentals(audio, f1, alpha, r, t, n_harmonics, window)
    else:
        _shared_fundamentals(audio, unique_f1, f1_index, alpha, r, t, n_harmonics, window)
    return audio


def _shared_fundamentals(audio, unique_f1, f1_index, alpha, r, t, n_harmonics, window):
    # One cosine table per fundamental, windowed once rather than every
    # sound, and one matrix product per block of the sounds that share it.
    # The float64 product goes through one reused buffer: fresh large
    # arrays cost page faults that dominate the arithmetic.
    order = np.argsort(f1_index, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(f1_index, minlength=unique_f1.size))])
    block_size = max(1, min(_BLOCK_SIZE, _BUFFER_ELEMENTS // max(1, t.size)))
    buffer = np.empty((min(block_size, audio.shape[0]), t.size))
    for u, fundamental in enumerate(unique_f1):
        members = order[bounds[u] : bounds[u + 1]]
        p = np.arange(1, max(int(n_harmonics[members].max()), 0) + 1)
        cosines = np.cos(_phase(p, np.array([fundamental]))[0][:, np.newaxis] * t)
        if window is not None:
            cosines *= window
        for start in range(0, members.size, block_size):
            rows = members[start : start + block_size]
            amplitudes = harmonic_amplitudes(alpha[rows], r[rows], n_harmonics[rows])
            product = buffer[: rows.size]
            np.matmul(amplitudes, cosines[: amplitudes.shape[1]], out=product)
            audio[rows] = product


def _distinct_fundamentals(audio, f1, alpha, r, t, n_harmonics, window):
    # Fundamentals rarely shared: one cosine table per sound, in blocks
    # that keep the (sounds, harmonics, samples) table small.
    for start in range(0, f1.size, _BLOCK_SIZE):
        block = slice(start, start + _BLOCK_SIZE)
        amplitudes = harmonic_amplitudes(alpha[block], r[block], n_harmonics[block])
        p = np.arange(1, amplitudes.shape[1] + 1)
        step = max(1, _TABLE_ELEMENTS // max(1, p.size * t.size))
        for sub in range(0, amplitudes.shape[0], step):
            rows = slice(sub, sub + step)
            cosines = np.cos(_phase(p, f1[block][rows])[:, :, np.newaxis] * t)
            tones = np.einsum("np,npt->nt", amplitudes[rows], cosines)
            if window is not None:
                tones *= window
            audio[start + sub : start + sub + tones.shape[0]] = tones


def _phase(p, f1):
    # Same operation order as the published code (2 pi p f1 t), so that
    # the cosines are bit-identical to it.
    return (2 * np.pi * p[np.newaxis, :]) * f1[:, np.newaxis]
