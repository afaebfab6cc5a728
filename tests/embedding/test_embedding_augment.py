"""Augmentations: shapes, value ranges, determinism, config validation."""
import pytest
import torch

from tracker.embedding.augment import (AugmentConfig, Augmenter, colour_jitter, gaussian_blur, pixel_noise,
                                       random_erasing, random_grayscale, random_resized_crop, uint8_to_float)

torch.set_num_threads(1)


def _images(b=6, h=80, w=40, seed=0):
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_pipeline_shape_and_range():
    out = Augmenter(AugmentConfig(out_size=(64, 32)))(_images(), torch.Generator().manual_seed(1))
    assert out.shape == (6, 3, 64, 32)
    assert out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("size", [(64, 32), (128, 64), (32, 32)])
def test_output_size_follows_config(size):
    out = Augmenter(AugmentConfig(out_size=size))(_images(b=3, h=50, w=21), torch.Generator().manual_seed(0))
    assert tuple(out.shape) == (3, 3, *size)


def test_same_seed_same_views_other_seed_other_views():
    aug = Augmenter()
    x = _images()
    a = aug(x, torch.Generator().manual_seed(7))
    b = aug(x, torch.Generator().manual_seed(7))
    c = aug(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_input_not_modified():
    x = _images()
    before = x.clone()
    Augmenter()(x, torch.Generator().manual_seed(0))
    assert torch.equal(x, before)


def test_each_op_keeps_range_and_shape():
    g = torch.Generator().manual_seed(3)
    cfg = AugmentConfig(p_jitter=1.0, p_gray=1.0, p_blur=1.0, p_noise=1.0, p_erase=1.0)
    x = _images(h=64, w=32)
    for y in (colour_jitter(x, cfg, g), random_grayscale(x, 1.0, g), gaussian_blur(x, 1.0, (0.5, 1.5), g),
              pixel_noise(x, 1.0, 0.1, g), random_erasing(x, 1.0, (0.1, 0.3), g), random_resized_crop(x, cfg, g)):
        assert y.shape == x.shape
        assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0 + 1e-6


def test_grayscale_makes_channels_equal_and_probability_zero_is_identity():
    g = torch.Generator().manual_seed(0)
    x = _images()
    y = random_grayscale(x, 1.0, g)
    assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 1], y[:, 2])
    assert torch.equal(random_grayscale(x, 0.0, g), x)
    assert torch.equal(random_erasing(x, 0.0, (0.1, 0.2), g), x)
    assert torch.equal(gaussian_blur(x, 0.0, (0.5, 1.0), g), x)


def test_full_crop_without_jitter_is_nearly_identity():
    cfg = AugmentConfig(out_size=(64, 32), scale=(1.0, 1.0), ratio=(1.0, 1.0), shift=0.0, p_flip=0.0)
    x = _images(h=64, w=32)
    y = random_resized_crop(x, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(x, y, atol=1e-5)


def test_erasing_changes_a_rectangle_only():
    x = torch.zeros(4, 3, 64, 32)
    y = random_erasing(x, 1.0, (0.1, 0.1), torch.Generator().manual_seed(0))
    changed = (y != x).any(1).float().mean(dim=(1, 2))
    assert torch.all(changed > 0.02) and torch.all(changed < 0.2)


def test_uint8_to_float():
    p = torch.full((2, 8, 4, 3), 255, dtype=torch.uint8)
    t = uint8_to_float(p)
    assert t.shape == (2, 3, 8, 4) and float(t.max()) == 1.0


@pytest.mark.parametrize("field,value", [("p_flip", 1.5), ("scale", (0.5, 0.2)), ("hue", 0.9), ("out_size", (2, 2))])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        AugmentConfig(**{field: value})


def test_config_round_trip():
    cfg = AugmentConfig(hue=0.01, scale=(0.5, 0.9))
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg


def test_bad_input_shape():
    with pytest.raises(ValueError, match="B, 3, H, W"):
        Augmenter()(torch.rand(3, 64, 32), torch.Generator())
