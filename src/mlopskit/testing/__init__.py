"""Conformance suites that users can run too.

:func:`check_detector` runs the drift-detector contract over any detector, batch or
streaming, so a detector written outside mlopskit can be checked the same way.
"""

from mlopskit.testing._detectors import check_detector

__all__ = ["check_detector"]
