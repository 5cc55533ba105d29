"""Type aliases named once and used across the package."""

from __future__ import annotations

from collections.abc import Callable

Schedule = Callable[[int], float]
"""A learning-rate schedule: the update count ``t`` (0 for the first update) to a rate."""

ScalarOrSchedule = float | Schedule
"""A learning rate given as a constant or as a schedule."""
