"""``jn.backends.mps``: Apple's Metal backend, which jitnet does not have."""


def is_available() -> bool:
    """False: jitnet has no MPS backend (its devices are ``cpu`` and ``cuda``)."""
    return False


def is_built() -> bool:
    """False: jitnet is never built with MPS."""
    return False
