"""Seeds from ``random_state``: an int, a ``numpy.random.Generator`` or ``None``.

What does *not* belong here: anything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlopskit.errors import InvalidParameterError

__all__: list[str] = []


def resolve_seed(random_state: Any) -> int:
    """An int seed: the int itself, one draw from a Generator, or fresh entropy."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**63))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if isinstance(random_state, int | np.integer) and not isinstance(
        random_state, bool
    ):
        if random_state < 0:
            raise InvalidParameterError(
                f"random_state must be a non-negative int. Got {random_state}.",
                parameter="random_state",
            )
        return int(random_state)
    raise InvalidParameterError(
        "random_state must be None, an int or a numpy.random.Generator. "
        f"Got {type(random_state).__name__} instead.",
        parameter="random_state",
    )
