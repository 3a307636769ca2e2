"""Dataset readers: local files only, never a silent download."""
