"""Synthetic demonstration data: a realistic district screening (:mod:`.district`)."""

from __future__ import annotations

from xinli_screen.demo.district import DistrictScenario, write_district_scenario

__all__ = ["DistrictScenario", "write_district_scenario"]
