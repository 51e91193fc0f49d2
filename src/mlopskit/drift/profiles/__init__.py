"""Reference profiles: mergeable per-column summaries of a reference data set.

Filled by the profiles work of issue 17 (quantile sketches, exact category counts,
moments and null rates, built chunk by chunk and merged).

What does *not* belong here: the tests that compare a profile with a sample
(``covariate/``).
"""

from __future__ import annotations

__all__: list[str] = []
