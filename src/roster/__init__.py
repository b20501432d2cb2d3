"""Roster: keeps utilization-management physician reviewers compliant and routes cases to them."""

__version__ = "0.1.0"
