"""The restore stage feeds the model: the next batch is decoded while the model runs,
outputs are stored in the background, the batch size comes from the adapter, the
suite or the command line, and errors in any thread surface (nothing hangs)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bench.errors import AdapterError, BenchError
from bench.io.cache import Cache
from bench.pipeline.stages.feed import BackgroundWriter, prefetched
from bench.pipeline.stages.restore import STAGE, RestoreStage
from bench.progress import Progress
from bench.records import ImageItem
from tair_bench_adapters.base import Restorer

WAIT = 30.0  # seconds: only a guard against a hang; the events below fire in milliseconds


class Doubler(Restorer):
    """x2 nearest-neighbour upscaling; records each call's batch size and thread."""

    version_id = "tests.Doubler"

    def __init__(self, scale=2, device="cpu"):
        super().__init__(scale=scale, device=device)
        self.calls: list[tuple[int, str]] = []
        self.loads = 0

    def load(self):
        self.loads += 1

    def restore_batch(self, images, prompts=None, *, ids=None):
        self.calls.append((len(images), threading.current_thread().name))
        return [np.repeat(np.repeat(im, 2, axis=0), 2, axis=1) for im in images]


def make_items(cache: Cache, n: int, size: int = 16) -> list[ImageItem]:
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        lq = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        h = cache.put_image(lq)
        items.append(ImageItem(id=f"im{i}", hq=None, lq=h, lq_up=h, size=(2 * size, 2 * size)))
    return items


def test_outputs_records_and_cache(tmp_path):
    cache = Cache(tmp_path / "c")
    items = make_items(cache, 7)
    r = Doubler()
    records = RestoreStage("dbl", r, None, cache, batch_size=3).run(items, Progress(quiet=True))
    assert [rec["id"] for rec in records] == [it.id for it in items]  # item order
    assert [n for n, _ in r.calls] == [3, 3, 1]
    assert {name for _, name in r.calls} == {threading.current_thread().name}  # the model runs in this thread
    for it in items:
        want = np.repeat(np.repeat(cache.get_image(it.lq), 2, axis=0), 2, axis=1)
        assert np.array_equal(cache.get_image(it.outputs["dbl"]), want)
    # second run: every output from the cache, model never loaded
    again = Doubler()
    fresh = make_items(cache, 7)
    assert RestoreStage("dbl", again, None, cache, batch_size=3).run(fresh, Progress(quiet=True)) == records
    assert again.calls == [] and again.loads == 0
    assert cache.hits[STAGE] == 7


def test_adapter_batch_size_is_the_default(tmp_path):
    cache = Cache(tmp_path / "c")

    class Fours(Doubler):
        batch_size = 4

    r = Fours()
    RestoreStage("dbl", r, None, cache).run(make_items(cache, 6), Progress(quiet=True))
    assert [n for n, _ in r.calls] == [4, 2]


def test_next_batch_is_decoded_while_the_model_runs(tmp_path, monkeypatch):
    """The first restore_batch call waits until the second batch's input has been read
    from the cache: it can only happen if decoding runs beside the model."""
    cache = Cache(tmp_path / "c")
    items = make_items(cache, 4)
    second_input = items[2].lq  # batch size 2: items 2 and 3 form the second batch
    decoded = threading.Event()
    real_get = Cache.get_image

    def get_image(self, h):
        out = real_get(self, h)
        if h == second_input:
            decoded.set()
        return out

    monkeypatch.setattr(Cache, "get_image", get_image)
    seen = []

    class Waiter(Doubler):
        def restore_batch(self, images, prompts=None, *, ids=None):
            if not seen:
                seen.append(decoded.wait(WAIT))
            return super().restore_batch(images, prompts)

    RestoreStage("w", Waiter(), None, cache, batch_size=2).run(items, Progress(quiet=True))
    assert seen == [True]


def test_output_is_stored_while_the_next_batch_runs(tmp_path, monkeypatch):
    """The second restore_batch call waits until the first batch's output is in the cache."""
    cache = Cache(tmp_path / "c")
    items = make_items(cache, 4)
    stored = threading.Event()
    real_put = Cache.put

    def put(self, stage, key, value):
        real_put(self, stage, key, value)
        if stage == STAGE:
            stored.set()

    monkeypatch.setattr(Cache, "put", put)
    seen = []

    class Waiter(Doubler):
        def restore_batch(self, images, prompts=None, *, ids=None):
            if self.calls:
                seen.append(stored.wait(WAIT))
            return super().restore_batch(images, prompts)

    RestoreStage("w", Waiter(), None, cache, batch_size=2).run(items, Progress(quiet=True))
    assert seen == [True]


def test_errors_surface_and_threads_stop(tmp_path):
    cache = Cache(tmp_path / "c")
    before = threading.active_count()

    class WrongSize(Doubler):
        def restore_batch(self, images, prompts=None, *, ids=None):
            return [im for im in images]  # not upscaled

    with pytest.raises(AdapterError, match="restorer 'bad', image 'im0': output is 16x16, expected 32x32"):
        RestoreStage("bad", WrongSize(), None, cache, batch_size=2).run(make_items(cache, 6), Progress(quiet=True))

    class Crash(Doubler):
        def restore_batch(self, images, prompts=None, *, ids=None):
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        RestoreStage("crash", Crash(), None, cache, batch_size=2).run(make_items(cache, 6), Progress(quiet=True))
    assert threading.active_count() == before


def test_feed_helpers():
    """prefetched passes items and errors through in order; BackgroundWriter runs calls in order."""
    assert list(prefetched(iter(range(10)), depth=2)) == list(range(10))

    def broken():
        yield 1
        raise ValueError("bad input")

    got = []
    with pytest.raises(ValueError, match="bad input"):
        for x in prefetched(broken()):
            got.append(x)
    assert got == [1]
    done = []
    with BackgroundWriter(depth=1) as w:
        for i in range(5):
            w.submit(done.append, i)
    assert done == list(range(5))


def test_batch_size_from_suite_and_cli(tmp_path, tiny_set, blob_spotter):
    """restorers[i].batch_size sets the calls' size; RunOptions.batch_size (--batch-size) overrides it;
    a bad value is a suite error naming the key."""
    from bench.components import RESTORERS
    from bench.pipeline.runner import RunOptions, run_suite
    from bench.suite import load_suite

    from .conftest import write_suite

    if "rec_doubler" not in RESTORERS:
        RESTORERS.add("rec_doubler", "tests.test_restore_feed:CallLog", "test")
    p = write_suite(tmp_path, tiny_set, restorers="  - {adapter: rec_doubler, batch_size: 2}")
    suite = load_suite(p)
    assert [s.batch_size for s in suite.restorers] == [None, None, 2]
    CallLog.sizes.clear()
    run_suite(suite, RunOptions(out_dir=tmp_path / "o1", cache_dir=tmp_path / "c1", quiet=True))
    assert CallLog.sizes == [2, 1]  # 3 images
    CallLog.sizes.clear()
    run_suite(suite, RunOptions(out_dir=tmp_path / "o2", cache_dir=tmp_path / "c2", quiet=True, batch_size=3))
    assert CallLog.sizes == [3]
    bad = write_suite(tmp_path, tiny_set, restorers="  - {adapter: rec_doubler, batch_size: 0}", name="bad.yaml")
    with pytest.raises(BenchError, match=r"restorers\[2\]\.batch_size: expected a positive integer, got 0"):
        load_suite(bad)


class CallLog(Restorer):
    """Bicubic x4 that logs the size of every restore_batch call (class-level, this process)."""

    version_id = "tests.CallLog"
    sizes: list[int] = []

    def restore_batch(self, images, prompts=None, *, ids=None):
        from bench.io.images import bicubic_resize

        CallLog.sizes.append(len(images))
        return [bicubic_resize(im, (im.shape[1] * self.scale, im.shape[0] * self.scale)) for im in images]
