"""Model-agnostic judges: feature extractors (I3D, ...), Gaussian statistics, Fréchet distance.

Pipeline-shaped: features → statistics → metric. Never imports `model`, `protocols`, `vdbench`.
"""
