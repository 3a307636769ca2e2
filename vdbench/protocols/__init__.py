"""Benchmark protocols (paper Section 4) and the dataset readers they need. Imports `metrics`."""
