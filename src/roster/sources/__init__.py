"""Readers for the publishers' list files (OIG LEIE, SAM, CMS Preclusion List) and their download.

Every reader returns a frame of :data:`roster.sources.records.LIST_SCHEMA` plus the published row
(:data:`roster.sources.records.RECORD`), so screening never needs to know which publisher a row came from.
"""
