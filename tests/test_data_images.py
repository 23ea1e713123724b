"""Image preprocessing (SPEC §1): crop 29..-29 / 9..-9, PIL bicubic, [0,1], gray = mean of RGB after resize."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studies.data.images import load_image, preprocess_files
from studies.errors import InputError


def _jpeg(path, seed=0, size=(178, 218)):
    rng = np.random.default_rng(seed)
    small = Image.fromarray((rng.random((12, 10, 3)) * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    small.save(path, quality=95)
    return path


@pytest.mark.parametrize("res", [16, 40, 80])
def test_matches_direct_pil_computation(tmp_path, res):
    path = _jpeg(tmp_path / "a.jpg")
    rgb = np.asarray(Image.open(path).convert("RGB"))
    crop = Image.fromarray(rgb[29:-29, 9:-9])
    assert crop.size == (160, 160)
    ref = np.asarray(crop.resize((res, res), Image.BICUBIC), dtype=np.float64) / 255.0
    colour = load_image(path, res, grayscale=False)
    gray = load_image(path, res)
    assert colour.shape == (3, res, res) and gray.shape == (1, res, res) and gray.dtype == np.float32
    np.testing.assert_allclose(colour, ref.transpose(2, 0, 1), atol=1e-6)
    np.testing.assert_allclose(gray[0], ref.mean(axis=2), atol=1e-6)
    assert 0.0 <= gray.min() and gray.max() <= 1.0


def test_gray_is_mean_after_resize_not_before(tmp_path):
    # a pure-colour image: every channel constant, so the gray value is the plain mean of R, G, B
    Image.new("RGB", (178, 218), (255, 0, 51)).save(tmp_path / "c.png")
    gray = load_image(tmp_path / "c.png", 8)
    np.testing.assert_allclose(gray, (255 + 0 + 51) / 3 / 255, atol=1e-6)


def test_crop_window_is_rows_29_and_cols_9(tmp_path):
    # white inside the crop window, black outside: a 160->160 "resize" returns the window exactly
    a = np.zeros((218, 178, 3), dtype=np.uint8)
    a[29:189, 9:169] = 255
    Image.fromarray(a).save(tmp_path / "w.png")
    assert load_image(tmp_path / "w.png", 160).min() == 1.0


def test_bad_images_are_named(tmp_path):
    with pytest.raises(InputError, match=r"missing.jpg: image file not found"):
        load_image(tmp_path / "missing.jpg", 16)
    _jpeg(tmp_path / "small.jpg", size=(100, 100))
    with pytest.raises(InputError, match=r"small.jpg: image is 100x100"):
        load_image(tmp_path / "small.jpg", 16)
    data = _jpeg(tmp_path / "full.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"trunc.jpg: unreadable or truncated"):
        load_image(tmp_path / "trunc.jpg", 16)
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match=r"junk.jpg: unreadable"):
        load_image(tmp_path / "junk.jpg", 16)


def test_preprocess_skips_bad_files_only_when_asked(tmp_path):
    paths = [_jpeg(tmp_path / f"{i}.jpg", seed=i) for i in range(4)]
    (tmp_path / "1.jpg").write_bytes(b"broken")
    with pytest.raises(InputError, match=r"1.jpg"):
        preprocess_files(paths, 16)
    arr, skipped = preprocess_files(paths, 16, skip_bad=True)
    assert arr.shape == (3, 1, 16, 16)
    assert [s[0] for s in skipped] == [str(paths[1])]
    np.testing.assert_array_equal(arr[1], load_image(paths[2], 16))
