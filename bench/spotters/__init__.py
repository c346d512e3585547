"""Text spotters: image -> word-level :class:`bench.records.Detection` list."""
