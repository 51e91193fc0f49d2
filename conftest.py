"""Root pytest configuration, loaded for tests, doctests, docs and notebooks alike."""

import os

# Notebooks executed by the suite (nbmake) read this flag and use reduced sizes.
os.environ.setdefault("MLOPSKIT_NOTEBOOK_SMALL", "1")
# Figures render off-screen in tests, doctests and notebooks.
os.environ.setdefault("MPLBACKEND", "Agg")
