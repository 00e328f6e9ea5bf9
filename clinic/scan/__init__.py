"""Batch scan of a folder of course materials (``clinic scan``).

The core (:mod:`clinic.scan.core`) and the report (:mod:`clinic.scan.report`) have
no Flask imports; :mod:`clinic.scan.cli` adds the command and the database import.
"""

from .core import CourseMap, ScanResult, ScanSummary, run_scan, walk

__all__ = ["CourseMap", "ScanResult", "ScanSummary", "run_scan", "walk"]
