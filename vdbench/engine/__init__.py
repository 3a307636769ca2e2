"""The run engine: chunks, cache, distributed, stopping, generators, the runner."""
