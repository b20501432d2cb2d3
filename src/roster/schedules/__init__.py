"""Schedules (issue 14): working hours, time off, holidays, on-call rotations and overrides, stored and
served; the rules that read them are ``roster.availability``."""
