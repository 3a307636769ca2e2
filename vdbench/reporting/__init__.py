"""Reporting: result records, paper tables, sample grids, provenance."""
