"""Roster export in the import layout (CSV, XLSX, Parquet), so export -> import round-trips."""
