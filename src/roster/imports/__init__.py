"""Bulk roster import: a CSV or XLSX file of physicians, licenses and certifications, all or nothing."""
