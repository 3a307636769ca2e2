"""The bottom layer: small helpers every other part of vdbench may use (atomic writes, hashing).

It imports nothing from the rest of vdbench, so ``vdbench.model`` and ``vdbench.metrics`` can
share these without importing each other (tests/test_layering.py enforces it).
"""
