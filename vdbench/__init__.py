"""vdbench: benchmark and evaluation harness for video generative models."""

__version__ = "0.1.0"
