"""A module without PARAMETERS: not a synthesizer."""


def synthesize(params, sample_rate, duration):
    return None
