"""tair-bench: evaluation harness for text-aware image restoration.

The pipeline is degrade -> restore -> spot -> score; see README.md.
"""

__version__ = "0.1.0"

#: Version of the text-spotting evaluation protocol implemented in
#: :mod:`bench.textmetrics`. Bump it whenever a change could move a text metric:
#: results with different protocol versions must never be compared.
PROTOCOL_VERSION = "testr-1"


def evaluate(suite, **options) -> dict:
    """Run a suite and return its results document: :func:`bench.api.evaluate`."""
    from bench.api import evaluate as _evaluate  # lazy: keeps `import bench` light (the pipeline, torch)

    return _evaluate(suite, **options)


def results_table(doc: dict):
    """A results document's summary as a DataFrame: :func:`bench.api.results_table`."""
    from bench.api import results_table as _results_table  # lazy: keeps `import bench` light (pandas)

    return _results_table(doc)
