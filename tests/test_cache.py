"""The content-addressed cache: keys, atomic writes, corrupt records."""

from __future__ import annotations

import numpy as np

from bench.io.cache import Cache, stage_key


def test_stage_key_changes_exactly_with_its_inputs():
    """Same (stage, version, config, inputs) -> same key; any change -> a new key; dict order irrelevant."""
    k = stage_key("restore", "v1", {"a": 1, "b": 2}, {"lq": "h"})
    assert k == stage_key("restore", "v1", {"b": 2, "a": 1}, {"lq": "h"})
    assert k != stage_key("restore", "v2", {"a": 1, "b": 2}, {"lq": "h"})
    assert k != stage_key("restore", "v1", {"a": 1, "b": 3}, {"lq": "h"})
    assert k != stage_key("restore", "v1", {"a": 1, "b": 2}, {"lq": "g"})
    assert k != stage_key("spot", "v1", {"a": 1, "b": 2}, {"lq": "h"})


def test_images_round_trip_losslessly_and_dedupe(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    cache = Cache(tmp_path)
    h = cache.put_image(img)
    assert cache.put_image(img.copy()) == h  # same content, same hash
    assert np.array_equal(cache.get_image(h), img)
    assert len(list((tmp_path / "images").rglob("*.png"))) == 1


def test_records_count_hits_and_misses(tmp_path):
    cache = Cache(tmp_path)
    assert cache.get("spot", "k1") is None
    cache.put("spot", "k1", {"x": 1})
    assert cache.get("spot", "k1") == {"x": 1}
    assert cache.stats() == {"spot": {"cached": 1, "computed": 1}}


def test_corrupt_record_is_a_miss_not_a_crash(tmp_path):
    """A truncated JSON file (e.g. a disk problem) is recomputed, not fatal."""
    cache = Cache(tmp_path)
    cache.put("spot", "abcd", {"x": 1})
    path = next((tmp_path / "stages" / "spot").rglob("abcd.json"))
    path.write_text('{"x": ')
    assert cache.get("spot", "abcd") is None


def test_no_temp_files_left_behind(tmp_path):
    cache = Cache(tmp_path)
    cache.put("s", "k", [1, 2])
    cache.put_image(np.zeros((4, 4, 3), np.uint8))
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_result_files_get_the_users_normal_permissions(tmp_path):
    """Atomic writes go through a mkstemp file (0600); the renamed file must carry
    0666 less the process umask, as a plain open() would give it."""
    import os
    import stat

    from bench.io.images import atomic_write_bytes

    mask = os.umask(0o022)
    os.umask(mask)
    atomic_write_bytes(tmp_path / "results.json", b"{}")
    (tmp_path / "plain.json").write_bytes(b"{}")
    mode = stat.S_IMODE((tmp_path / "results.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.json").stat().st_mode) == 0o666 & ~mask
