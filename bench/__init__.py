"""tair-bench: evaluation harness for text-aware image restoration.

The pipeline is degrade -> restore -> spot -> score; see README.md.
"""

__version__ = "0.1.0"

#: Version of the text-spotting evaluation protocol implemented in
#: :mod:`bench.textmetrics`. Bump it whenever a change could move a text metric:
#: results with different protocol versions must never be compared.
PROTOCOL_VERSION = "testr-1"
