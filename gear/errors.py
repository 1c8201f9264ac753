"""Error types of GEAR: one family, each message names what is wrong."""


class GearError(Exception):
    """Base class of every error GEAR raises on purpose."""


class ConfigError(GearError):
    """A configuration value is missing, misspelled or out of range."""


class ModelError(GearError):
    """A model cannot be loaded, or returned an unusable embedding."""


class DataError(GearError):
    """An input file (audio, table, array) is missing, corrupted or inconsistent."""


class FetchError(GearError):
    """A remote file (weights, reference data) cannot be fetched, or is not the one pinned."""


class SynthesizerError(ConfigError):
    """A synthesizer cannot be loaded, breaks its contract, or rendered unusable sounds."""
