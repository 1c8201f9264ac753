"""The built-in ``fm``, ``chirp`` and ``drum`` synthesizers against closed-form properties.

Every expected value here is written from the published formula (Bessel
sidebands of FM, the chirp's instantaneous frequency and modulator, the
FTM drum's modal frequencies and decay rates in the form of the PNP
paper's code), never taken from the module under test.
"""

import inspect

import numpy as np
import pytest
from scipy.signal import hilbert, stft
from scipy.special import jv

from gear.datasets import make_dataset
from gear.synthesizers import load_synthesizer

SR = 16000

# Values inside every declared range, for the contract tests.
EXAMPLES = {
    "fm": {
        "carrier": [110.0, 440.0, 1500.0, 3000.0],
        "ratio": [0.5, 1.0, 1.41, 3.0],
        "index": [0.0, 1.0, 4.0, 10.0],
        "decay": [0.001, 0.05, 0.5, 1e6],
    },
    "chirp": {
        "carrier": [128.0, 512.0, 1000.0, 7000.0],
        "am_rate": [0.01, 4.0, 16.0, 7999.0],
        "chirp_rate": [-100.0, -2.0, 0.0, 100.0],
    },
    "drum": {
        "omega": [40.0, 200.0, 1000.0, 7900.0],
        "tau": [0.001, 0.4, 3.0, 1e6],
        "p": [0.0, 1e-5, 0.2, 5.0],
        "d": [0.0, 1e-5, 0.3, 5.0],
        "alpha": [1e-5, 0.2, 1.0, 1e5],
    },
}

# A quasi-random dataset of each (ranges without `num`: the Sobol design draws them).
SOBOL_RANGES = {
    "fm": {"carrier": {"min": 110.0, "max": 1760.0}, "ratio": {"min": 0.5, "max": 4.0},
           "index": {"min": 0.0, "max": 8.0}, "decay": {"min": 0.05, "max": 1.0}},
    "chirp": {"carrier": {"min": 128.0, "max": 1024.0}, "am_rate": {"min": 2.0, "max": 32.0},
              "chirp_rate": {"min": -4.0, "max": 4.0}},
    "drum": {"omega": {"min": 40.0, "max": 1000.0}, "tau": {"min": 0.4, "max": 3.0},
             "p": {"min": 1e-5, "max": 0.2}, "d": {"min": 1e-5, "max": 0.3}, "alpha": {"min": 0.2, "max": 1.0}},
}  # fmt: skip

NAMES = ("fm", "chirp", "drum")


def render(name, sample_rate=SR, duration=1.0, options=None, **values):
    """One or more sounds of a synthesizer, through the checked ``render``, as float64."""
    synthesizer = load_synthesizer(name)
    table = {key: np.atleast_1d(np.asarray(value, dtype=np.float64)) for key, value in values.items()}
    return synthesizer.render(table, sample_rate, duration, options).astype(np.float64)


def line_amplitudes(x):
    """|rfft| scaled so that a sine of amplitude A with an integer number of periods gives A."""
    return np.abs(np.fft.rfft(x)) * 2 / x.size


def interpolated_peak(spectrum, freqs, low, high):
    """Frequency and height of the largest bin in [low, high] Hz, refined by a parabola on log magnitudes."""
    band = np.flatnonzero((freqs >= low) & (freqs <= high))
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return freqs[k] + shift * (freqs[1] - freqs[0]), np.exp(b - 0.25 * (a - c) * shift)


# --- the contract, for each synthesizer -----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name):
    synthesizer = load_synthesizer(name)
    assert synthesizer.names == list(EXAMPLES[name])
    assert all(n.isidentifier() and n.islower() for n in synthesizer.names)
    assert len(synthesizer.figure_grid) == 2 and set(synthesizer.figure_grid) <= set(synthesizer.names)
    for parameter in synthesizer.parameters:
        default = parameter.default
        assert parameter.description and parameter.label
        assert parameter.min <= default["min"] < default["max"], parameter.name
        if parameter.max != "nyquist":
            assert default["max"] <= parameter.max, parameter.name
        else:
            assert default["max"] < SR / 2, parameter.name
    # Every option is a keyword of synthesize, with the same default.
    signature = inspect.signature(synthesizer.module.synthesize).parameters
    assert {key: signature[key].default for key in synthesizer.options} == synthesizer.options


@pytest.mark.parametrize("name", NAMES)
def test_render_shape_dtype_finite_not_silent(name):
    # Every extreme of the declared ranges, at an odd length.
    synthesizer = load_synthesizer(name)
    audio = synthesizer.render(EXAMPLES[name], SR, 0.2501)
    assert audio.shape == (4, round(0.2501 * SR))
    assert audio.dtype == np.float32
    assert np.isfinite(audio).all()
    assert (np.abs(audio).max(axis=1) > 0).all()
    assert np.abs(audio).max() <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_batch_equals_one_at_a_time(name):
    synthesizer = load_synthesizer(name)
    values = {key: np.asarray(value) for key, value in EXAMPLES[name].items()}
    first = synthesizer.render(values, SR, 0.125)
    np.testing.assert_array_equal(first, synthesizer.render(values, SR, 0.125))
    for row in range(4):
        alone = synthesizer.render({key: value[row : row + 1] for key, value in values.items()}, SR, 0.125)
        np.testing.assert_allclose(alone[0], first[row], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_sobol_dataset_renders(name):
    spec = {"synthesizer": name, "parameters": SOBOL_RANGES[name], "design": "sobol", "n_sounds": 32,
            "sample_rate": SR, "duration": 0.25}  # fmt: skip
    dataset = make_dataset(spec, f"{name}_sobol")
    assert dataset.audio.shape == (32, 4000) and dataset.audio.dtype == np.float32
    assert list(dataset.params.columns) == ["sound_id", *SOBOL_RANGES[name]]
    for key, bounds in SOBOL_RANGES[name].items():
        values = dataset.params[key].to_numpy()
        assert (values >= bounds["min"] - 1e-9).all() and (values <= bounds["max"] + 1e-9).all()
        assert np.unique(values).size == 32  # a Sobol design, not a grid
    assert [p.name for p in dataset.description.parameters] == list(SOBOL_RANGES[name])
    assert dataset.description.design == "sobol"


# --- fm: sidebands are Bessel functions -----------------------------------------------------------


@pytest.mark.parametrize("index", [0.5, 2.404825557695773, 3.0, 5.0])
def test_fm_sideband_amplitudes_are_bessel_functions(index):
    # fc = 4 kHz, fm = 200 Hz, 1 s, no decay or fade: every sideband fc + n fm falls on
    # its own FFT bin, none reaches 0 Hz or Nyquist with a visible amplitude
    # (|J_20(5)| < 1e-10), so |X| at fc + n fm is peak |J_n(index)|; 2.4048 is the
    # first zero of J_0, where the carrier vanishes.
    peak = 0.9
    x = render("fm", carrier=4000.0, ratio=0.05, index=index, decay=1e12, options={"fade": 0.0})[0]
    spectrum = line_amplitudes(x)
    n = np.arange(-19, 20)
    bins = 4000 + 200 * n
    np.testing.assert_allclose(spectrum[bins], peak * np.abs(jv(n, index)), rtol=0, atol=2e-6)
    elsewhere = np.delete(spectrum, bins)
    assert elsewhere.max() < 2e-6


def test_fm_carrier_vanishes_at_first_bessel_zero_but_not_beside_it():
    at_zero, beside = (line_amplitudes(render("fm", carrier=4000.0, ratio=0.05, index=i, decay=1e12,
                                              options={"fade": 0.0})[0])[4000]
                       for i in (2.404825557695773, 2.2))  # fmt: skip
    assert at_zero < 1e-6 < 0.05 < beside


@pytest.mark.parametrize("decay", [0.05, 0.3])
def test_fm_amplitude_decays_exponentially(decay):
    # index 0: a sine whose Hilbert envelope is peak * exp(-t / decay).
    x = render("fm", carrier=1000.0, ratio=1.0, index=0.0, decay=decay, options={"fade": 0.0})[0]
    t = np.arange(x.size) / SR
    envelope = np.abs(hilbert(x))
    # Over three time constants after the onset (the FFT-based Hilbert transform rings
    # from the onset's step; it dominates once the envelope has fallen far below it).
    inside = (t > 0.02) & (t < 3 * decay)
    slope, intercept = np.polyfit(t[inside], np.log(envelope[inside]), 1)
    np.testing.assert_allclose(slope, -1 / decay, rtol=2e-3)
    np.testing.assert_allclose(np.exp(intercept), 0.9, rtol=2e-3)


def test_fm_fade_is_a_raised_cosine_over_the_last_samples():
    values = {"carrier": 440.0, "ratio": 2.0, "index": 3.0, "decay": 0.5}
    plain = render("fm", options={"fade": 0.0}, **values)[0]
    faded = render("fm", options={"fade": 0.01}, **values)[0]
    n_fade = 160
    np.testing.assert_array_equal(faded[:-n_fade], plain[:-n_fade])
    k = np.arange(1, n_fade + 1)
    ramp = 0.5 * (1 + np.cos(np.pi * k / (n_fade + 1)))
    np.testing.assert_allclose(faded[-n_fade:], plain[-n_fade:] * ramp, rtol=0, atol=1e-7)


# --- chirp: instantaneous frequency and amplitude modulation -------------------------------------


def chirp_time(n_samples, sample_rate=SR):
    """Seconds from the middle of the sound, as the tutorial's arange(-T/2, T/2, 1/sr)."""
    return (np.arange(n_samples) - n_samples / 2) / sample_rate


@pytest.mark.parametrize("gamma", [-3.0, -0.5, 0.0, 1.5, 4.0])
def test_chirp_instantaneous_frequency_is_exponential(gamma):
    carrier, am_rate, bandwidth = 1000.0, 3.0, 8.0
    options = {"bandwidth": bandwidth}
    x = render("chirp", carrier=carrier, am_rate=am_rate, chirp_rate=gamma, options=options)[0]
    z = hilbert(x)
    t = chirp_time(x.size)
    # Frequency between samples n and n + 1, from the phase increment of the analytic signal.
    measured = np.angle(z[1:] * np.conj(z[:-1])) * SR / (2 * np.pi)
    mid = t[:-1] + 0.5 / SR
    expected = carrier * 2.0 ** (gamma * mid)
    # Away from the modulator's zeros (where the sign flips), the window's tails and the ends.
    window = np.exp(-0.5 * (gamma * mid / (0.1 * bandwidth)) ** 2)
    usable = (np.abs(np.sin(2 * np.pi * am_rate * mid)) > 0.5) & (window > 0.05) & (np.abs(mid) < 0.45)
    assert usable.sum() > 2000
    relative = np.abs(measured[usable] / expected[usable] - 1)
    assert np.median(relative) < 1e-3
    assert relative.max() < 0.01


def test_chirp_steady_tone_is_ring_modulated():
    # gamma = 0: flat window, carrier 1 kHz times sin(2 pi 7 t): all the energy in
    # two equal lines at 993 and 1007 Hz, none at the carrier.
    x = render("chirp", carrier=1000.0, am_rate=7.0, chirp_rate=0.0, options={"fade": 0.0})[0]
    spectrum = line_amplitudes(x)
    assert spectrum[1000] < 1e-5
    np.testing.assert_allclose(spectrum[993], spectrum[1007], rtol=1e-4)
    power = spectrum**2
    assert power[[993, 1007]].sum() / power.sum() > 0.9999


@pytest.mark.parametrize(("am_rate", "gamma"), [(4.0, 1.0), (7.0, -2.0), (11.0, 0.5)])
def test_chirp_modulation_rate_is_the_am_rate(am_rate, gamma):
    carrier, bandwidth = 800.0, 40.0
    x = render("chirp", carrier=carrier, am_rate=am_rate, chirp_rate=gamma,
               options={"bandwidth": bandwidth, "fade": 0.0})[0]  # fmt: skip
    t = chirp_time(x.size)
    z = hilbert(x)
    freqs = np.fft.rfftfreq(8 * x.size, 1 / SR)
    taper = np.hanning(x.size)
    # The Hilbert envelope |sin(2 pi f_m t)| w(t) has two lobes per modulator period: its
    # spectrum peaks at 2 f_m.
    envelope = np.abs(z)
    envelope_spectrum = np.abs(np.fft.rfft((envelope - envelope.mean()) * taper, 8 * x.size))
    rate, _ = interpolated_peak(envelope_spectrum, freqs, 1.0, 100.0)
    np.testing.assert_allclose(rate, 2 * am_rate, atol=0.05)
    # Demodulated by the closed-form carrier phase 2 pi f_c (2**(gamma t) - 1) / (gamma ln 2),
    # the signed modulator sin(2 pi f_m t) w(t) is left: its spectrum peaks at f_m.
    if gamma == 0:
        phase = 2 * np.pi * carrier * t
    else:
        phase = 2 * np.pi * carrier * (2.0 ** (gamma * t) - 1) / (gamma * np.log(2))
    modulator = np.real(1j * z * np.exp(-1j * phase))
    modulator_spectrum = np.abs(np.fft.rfft(modulator * taper, 8 * x.size))
    rate, _ = interpolated_peak(modulator_spectrum, freqs, 1.0, 100.0)
    np.testing.assert_allclose(rate, am_rate, atol=0.05)
    window = np.exp(-0.5 * (gamma * t / (0.1 * bandwidth)) ** 2)
    inside = np.abs(t) < 0.4
    reference = np.sin(2 * np.pi * am_rate * t) * window
    assert np.corrcoef(modulator[inside], reference[inside])[0, 1] > 0.999


def test_chirp_window_narrows_with_chirp_rate():
    # Gaussian window of standard deviation 0.1 * bandwidth / |gamma| seconds, centred.
    for gamma in (2.0, -4.0):
        x = render("chirp", carrier=700.0, am_rate=0.01, chirp_rate=gamma, options={"fade": 0.0})[0]
        t = chirp_time(x.size)
        envelope = np.abs(hilbert(x))
        inside = np.abs(t) < 0.15
        # sin(2 pi 0.01 t) ~ 2 pi 0.01 t: the envelope is |t| exp(-t^2 / (2 s^2)) up to a constant.
        s = 0.2 / abs(gamma)
        reference = np.abs(t) * np.exp(-0.5 * (t / s) ** 2)
        scale = envelope[inside] @ reference[inside] / (reference[inside] @ reference[inside])
        assert np.abs(envelope[inside] - scale * reference[inside]).max() < 0.02 * envelope.max()


def test_chirp_is_silent_where_its_frequency_reaches_nyquist():
    # Carrier 4 kHz at the middle, 4 octaves per second: f_c 2**(gamma t) reaches the
    # Nyquist frequency (8 kHz) at t = 0.25 s; the rest is zero rather than aliased.
    options = {"bandwidth": 40.0, "fade": 0.0}
    x = render("chirp", carrier=4000.0, am_rate=3.0, chirp_rate=4.0, options=options)[0]
    t = chirp_time(x.size)
    crossing = np.log2(SR / 2 / 4000.0) / 4.0
    assert (x[t >= crossing] == 0).all()
    assert np.abs(x[(t > crossing - 0.05) & (t < crossing)]).max() > 0.1


# --- drum: modal frequencies, decay rates, degenerate modes of a square --------------------------


def ftm_modes(omega_hz, tau, p, d, alpha, modes=10, x=0.4):
    """Modal frequency (Hz), decay rate (1/s) and amplitude of PNP's rectangular drum.

    Written as in the ICASSP 2023 paper's code (``pnp_synth.physical.ftm``,
    side l0 = pi, l2 = alpha l0; strike and pickup at x of each side), whose
    omega is in rad/s. Index [m1 - 1, m2 - 1].
    """
    w = 2 * np.pi * omega_hz
    l0 = np.pi
    l2 = l0 * alpha
    beta_side = alpha + 1 / alpha
    stiffness = l0 / np.pi * ((d * w * alpha) ** 2 + (p * alpha / tau) ** 2) ** 0.25
    tension = (alpha * (1 / beta_side - p**2 * beta_side) / tau**2
               + alpha * w**2 * (1 / beta_side - d**2 * beta_side)) * (l0 / np.pi) ** 2  # fmt: skip
    d1 = 2 * (1 - p * beta_side) / tau
    d3 = -2 * p * alpha / tau * (l0 / np.pi) ** 2
    mu = np.arange(1, modes + 1)
    eta = (mu[:, None] * np.pi / l0) ** 2 + (mu[None, :] * np.pi / l2) ** 2
    stiff = stiffness**4 * eta**2 + tension * eta
    sigma = (d1 - d3 * eta) / 2
    angular = np.sqrt(stiff - sigma**2)
    amplitude = (np.sin(mu * np.pi * x)[:, None] * np.sin(mu * np.pi * x)[None, :]) ** 2 / angular
    return angular / (2 * np.pi), sigma, amplitude


def drum_spectrum(x, oversample=8):
    freqs = np.fft.rfftfreq(oversample * x.size, 1 / SR)
    return freqs, np.abs(np.fft.rfft(x * np.hanning(x.size), oversample * x.size))


def test_ftm_reference_basics():
    # Sanity of the closed form itself: mode (1, 1) rings at omega and decays at 1 / tau.
    frequency, sigma, _ = ftm_modes(173.0, 0.7, 0.1, 0.05, 0.6)
    np.testing.assert_allclose([frequency[0, 0], sigma[0, 0]], [173.0, 1 / 0.7], rtol=1e-9)


@pytest.mark.parametrize(
    ("omega", "d", "alpha"), [(150.0, 0.05, 0.6), (320.0, 0.002, 0.83), (90.0, 0.2, 0.37)]
)
def test_drum_spectral_peaks_at_modal_frequencies(omega, d, alpha):
    tau, p = 1.0, 0.001
    x = render("drum", omega=omega, tau=tau, p=p, d=d, alpha=alpha)[0]
    freqs, spectrum = drum_spectrum(x)
    frequency, _, amplitude = ftm_modes(omega, tau, p, d, alpha)
    frequency, amplitude = frequency.ravel(), amplitude.ravel()
    heard = (amplitude > 1e-3 * amplitude.max()) & (frequency < 2000)
    candidates = np.sort(frequency[heard])
    # Modes at least 12 Hz from every other mode (of any amplitude), among the heard ones.
    gaps = np.abs(frequency[None, :] - candidates[:, None])
    gaps[gaps == 0] = np.inf
    isolated = candidates[gaps.min(axis=1) > 12][:8]
    assert isolated.size >= 4
    for f in isolated:
        measured, _ = interpolated_peak(spectrum, freqs, f - 5, f + 5)
        assert abs(measured - f) < 0.3, (f, measured)
    # Conversely, the five strongest peaks of the sound are modes of the model.
    local = np.flatnonzero((spectrum[1:-1] > spectrum[:-2]) & (spectrum[1:-1] > spectrum[2:])) + 1
    strongest = freqs[local[np.argsort(spectrum[local])[-5:]]]
    assert all(np.abs(frequency[heard] - f).min() < 1.0 for f in strongest), strongest


@pytest.mark.parametrize(("tau", "p"), [(0.5, 0.5), (0.25, 0.05)])
def test_drum_modes_decay_at_modal_rates(tau, p):
    omega, d, alpha = 200.0, 0.01, 0.8
    x = render("drum", omega=omega, tau=tau, p=p, d=d, alpha=alpha)[0]
    frequency, sigma, _ = ftm_modes(omega, tau, p, d, alpha)
    freqs, times, Z = stft(x, fs=SR, nperseg=2048, noverlap=2048 - 256, boundary=None, padded=False)
    inside = (times > 0.1) & (times < 0.8)
    # Modes (1, 1), (2, 1) and (1, 2) are > 35 Hz from every other mode here.
    rates = []
    for m1, m2 in [(1, 1), (2, 1), (1, 2)]:
        others = np.delete(frequency.ravel(), (m1 - 1) * 10 + m2 - 1)
        assert np.abs(others - frequency[m1 - 1, m2 - 1]).min() > 35
        k = np.argmin(np.abs(freqs - frequency[m1 - 1, m2 - 1]))
        slope = np.polyfit(times[inside], np.log(np.abs(Z[k, inside])), 1)[0]
        rates.append(-slope)
    expected = [sigma[0, 0], sigma[1, 0], sigma[0, 1]]
    np.testing.assert_allclose(rates, expected, rtol=0.02)
    # sigma = (1 + p (I - beta)) / tau: (1, 1) decays at 1 / tau, the others faster.
    np.testing.assert_allclose(expected[0], 1 / tau, rtol=1e-9)


def prony(x, order, sample_rate):
    """Frequencies (Hz) and decay rates (1/s) of a sum of ``order // 2`` damped sinusoids.

    Prony's method: the least-squares linear predictor of ``x[n]`` from its ``order``
    predecessors, whose characteristic roots are the poles ``exp((-sigma +- i Omega) / sr)``.
    """
    rows = np.lib.stride_tricks.sliding_window_view(x, order + 1)
    coefficients = np.linalg.lstsq(rows[:, :-1][:, ::-1], rows[:, -1], rcond=None)[0]
    poles = np.roots(np.concatenate([[1.0], -coefficients]))
    poles = poles[poles.imag > 0]
    poles = poles[np.argsort(np.angle(poles))]
    return np.angle(poles) * sample_rate / (2 * np.pi), -np.log(np.abs(poles)) * sample_rate


@pytest.mark.parametrize(
    ("omega", "tau", "p", "d", "alpha"),
    [(40.0, 0.05, 0.3, 0.1, 0.7), (300.0, 0.2, 0.01, 0.05, 0.55), (1000.0, 1.0, 0.001, 0.01, 0.9)],
)
def test_drum_is_exactly_its_closed_form_modes(omega, tau, p, d, alpha):
    # 3 x 3 modes struck and heard at the middle (x = 0.5): modes with an even index have
    # a node there, so the sound is exactly four damped sinusoids, (1, 1), (1, 3), (3, 1)
    # and (3, 3), whose poles Prony's method recovers to ~1e-7 (here on every k-th sample,
    # which keeps the poles apart). At omega = 40 Hz and tau = 0.05 s the damping term
    # ((1 - p beta) / tau)**2 (I - beta) / beta of Omega**2 moves the frequencies by 3e-4.
    x = render("drum", duration=0.5, options={"modes": 3, "x1": 0.5, "x2": 0.5},
               omega=omega, tau=tau, p=p, d=d, alpha=alpha)[0]  # fmt: skip
    frequency, sigma, _ = ftm_modes(omega, tau, p, d, alpha, modes=3, x=0.5)
    modes = [(0, 0), (0, 2), (2, 0), (2, 2)]
    expected_f = np.array([frequency[m] for m in modes])
    order = np.argsort(expected_f)
    expected_f, expected_sigma = expected_f[order], np.array([sigma[m] for m in modes])[order]
    step = int(SR // (4 * expected_f.max()))
    measured_f, measured_sigma = prony(x[::step], 8, SR / step)
    np.testing.assert_allclose(measured_f, expected_f, rtol=1e-5)
    np.testing.assert_allclose(measured_sigma, expected_sigma, rtol=2e-3)


def test_square_drum_has_degenerate_modes():
    # p = 0: every mode decays at 1 / tau, so under one window every spectral line has
    # the same shape and its height is proportional to the mode's amplitude.
    omega, tau, p, d = 180.0, 0.3, 0.0, 0.01
    # The closed form: alpha = 1 makes (m1, m2) and (m2, m1) coincide, alpha = 0.85 does not.
    square, _, square_amplitude = ftm_modes(omega, tau, p, d, 1.0)
    np.testing.assert_allclose(square, square.T, rtol=1e-12)
    oblong, _, oblong_amplitude = ftm_modes(omega, tau, p, d, 0.85)
    assert abs(oblong[0, 1] - oblong[1, 0]) > 20
    # The square's sound: one line where (1, 2) and (2, 1) meet, of twice one mode's height.
    freqs, spectrum = drum_spectrum(render("drum", omega=omega, tau=tau, p=p, d=d, alpha=1.0)[0])
    f11, h11 = interpolated_peak(spectrum, freqs, square[0, 0] - 5, square[0, 0] + 5)
    f12, h12 = interpolated_peak(spectrum, freqs, square[0, 1] - 20, square[0, 1] + 20)
    assert abs(f12 - square[0, 1]) < 0.3
    band = (freqs > square[0, 1] - 30) & (freqs < square[0, 1] + 30)
    local = np.flatnonzero((spectrum[1:-1] > spectrum[:-2]) & (spectrum[1:-1] > spectrum[2:])) + 1
    assert np.count_nonzero(band[local] & (spectrum[local] > 0.1 * h12)) == 1
    np.testing.assert_allclose(h12 / h11, 2 * square_amplitude[0, 1] / square_amplitude[0, 0], rtol=0.02)
    # The oblong drum: two lines, each of one mode's height.
    freqs, spectrum = drum_spectrum(render("drum", omega=omega, tau=tau, p=p, d=d, alpha=0.85)[0])
    _, h11 = interpolated_peak(spectrum, freqs, oblong[0, 0] - 5, oblong[0, 0] + 5)
    for m1, m2 in [(1, 2), (2, 1)]:
        f, h = interpolated_peak(spectrum, freqs, oblong[m1 - 1, m2 - 1] - 10, oblong[m1 - 1, m2 - 1] + 10)
        assert abs(f - oblong[m1 - 1, m2 - 1]) < 0.3
        np.testing.assert_allclose(
            h / h11, oblong_amplitude[m1 - 1, m2 - 1] / oblong_amplitude[0, 0], rtol=0.02
        )


def test_drum_leaves_out_modes_above_nyquist():
    # omega = 3 kHz at 16 kHz: of the 10 x 10 modes only those below 8 kHz sound; an
    # aliased mode would put a line at sr - f.
    omega, tau, p, d, alpha = 3000.0, 0.5, 0.001, 0.001, 0.9
    frequency, _, amplitude = ftm_modes(omega, tau, p, d, alpha)
    heard = (frequency < SR / 2) & (amplitude > 1e-6)
    above = (frequency >= SR / 2) & (frequency < SR) & (amplitude > 1e-6)
    assert above.any()
    freqs, spectrum = drum_spectrum(render("drum", omega=omega, tau=tau, p=p, d=d, alpha=alpha)[0])
    for f in SR - frequency[above]:
        if np.abs(frequency[heard] - f).min() > 30:  # not on top of a real mode
            near = (freqs > f - 3) & (freqs < f + 3)
            assert spectrum[near].max() < 1e-3 * spectrum.max()
