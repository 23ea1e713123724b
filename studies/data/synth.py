"""Synthetic CelebA-like faces: the embedded default dataset.

``generate(out_dir, cfg)`` writes a folder in the CelebA layout (``img_align_celeba/000001.jpg`` ...,
218x178 RGB JPEGs, ``list_attr_celeba.txt`` with the 40 CelebA attribute names,
``identity_CelebA.txt``) plus ``duplicates.txt`` (ground-truth planted near-duplicate pairs,
``source duplicate`` per line) and ``synth_config.json``. The real reader is the only way in.

Each identity draws about 30 parameters (face shape, skin tone, hair colour / style / volume, eye,
brow, nose and mouth geometry, facial hair, glasses propensity) and a smooth random texture that
lives in face coordinates, so it moves with the pose; each image draws pose (yaw, roll, shift, scale),
expression (smile, open mouth), lighting (direction, brightness, colour), background and clothes,
and per-image attributes (Eyeglasses, Smiling, Wearing_Hat, Blurry, ...). Attributes named in the
file are rendered where they have a visible counterpart. Randomness comes from numpy Generators
seeded by (seed, identity) and (seed, image), so every file is independent of batching and the same
seed gives byte-identical files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from ..cache import atomic_dir
from ..config import SynthConfig, to_dict
from ..errors import InputError
from .celeba import ATTR_FILE, IDENTITY_FILE, IMAGE_DIR

ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
DUPLICATES_FILE = "duplicates.txt"
CONFIG_FILE = "synth_config.json"

# identities of CelebA with 1, 2, ..., 35 images (from identity_CelebA.txt): the synthetic
# images-per-identity distribution copies its shape (mean ~20, range 1..35)
_IMAGES_PER_IDENTITY_HIST = np.array(
    [44, 324, 245, 221, 221, 207, 183, 176, 187, 202, 199, 165, 176, 210, 172, 219, 173, 217, 288, 1044,
     565, 419, 369, 290, 361, 106, 125, 216, 493, 2343, 9, 3, 0, 2, 3], dtype=np.float64)

# the frame is rendered at a third of the resolution (the crop at 53 px, above the 16-40 px the
# studies use) and upscaled bicubically to 218x178: a full-resolution render costs 4x more for
# detail that the resize to R x R throws away
_H, _W = 73, 60
_SY, _SX = 218 / _H, 178 / _W  # full-resolution pixels per rendered pixel
_JPEG_QUALITY = 92
_PX = _SY / 80.0  # one rendered pixel in face units (the 160x160 crop spans [-1, 1])

_TEXTURE_TERMS = 12
_BG_TERMS = 8  # cosine terms of the per-image background field (SynthConfig.background)
_HAIR_COLOURS = {
    "Black_Hair": (0.10, 0.08, 0.07),
    "Brown_Hair": (0.36, 0.22, 0.12),
    "Blond_Hair": (0.86, 0.72, 0.45),
    "Gray_Hair": (0.66, 0.66, 0.66),
    "other": (0.22, 0.15, 0.10),
}


# ---------------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class _Identity:
    attrs: dict  # identity-level attributes (bool)
    p: dict  # geometry and colours (floats / arrays)
    texture: np.ndarray  # (_TEXTURE_TERMS, 5): fx, fy, phase, skin amplitude, hair amplitude
    glasses_rate: float


def _bern(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def _identity(seed: int, k: int, cfg: SynthConfig) -> _Identity:
    rng = np.random.default_rng([seed, 1, k])
    male = _bern(rng, 0.42)
    young = _bern(rng, 0.77)
    pale = _bern(rng, 0.045)
    bald = male and _bern(rng, 0.06 if young else 0.12)
    if bald:
        hair = "other"
    else:
        u = rng.random()
        if not young and u < 0.25:
            hair = "Gray_Hair"
        else:
            probs = {"Black_Hair": 0.25, "Brown_Hair": 0.22, "Blond_Hair": 0.05 if male else 0.27}
            hair, acc, v = "other", 0.0, rng.random()
            for name, q in probs.items():
                acc += q
                if v < acc:
                    hair = name
                    break
    a = {
        "Male": male, "Young": young, "Pale_Skin": pale, "Bald": bald,
        "Black_Hair": hair == "Black_Hair", "Brown_Hair": hair == "Brown_Hair",
        "Blond_Hair": hair == "Blond_Hair", "Gray_Hair": hair == "Gray_Hair",
        "Bangs": (not bald) and _bern(rng, 0.08 if male else 0.24),
        "Receding_Hairline": (not bald) and _bern(rng, 0.15 if male else 0.04),
        "Wavy_Hair": (not bald) and _bern(rng, 0.2 if male else 0.45),
        "Big_Lips": _bern(rng, 0.24), "Big_Nose": _bern(rng, 0.4 if male else 0.12),
        "Pointy_Nose": _bern(rng, 0.28), "Bushy_Eyebrows": _bern(rng, 0.25 if male else 0.06),
        "Arched_Eyebrows": _bern(rng, 0.05 if male else 0.42), "Narrow_Eyes": _bern(rng, 0.12),
        "Chubby": _bern(rng, 0.06), "Oval_Face": _bern(rng, 0.28), "Bags_Under_Eyes": _bern(rng, 0.3 if not young else 0.15),
        "Rosy_Cheeks": (not male) and _bern(rng, 0.11), "High_Cheekbones": _bern(rng, 0.45),
        "Attractive": _bern(rng, 0.65 if young else 0.25),
        "Heavy_Makeup": (not male) and _bern(rng, 0.65), "Wearing_Lipstick": (not male) and _bern(rng, 0.8),
    }
    a["Straight_Hair"] = (not bald) and (not a["Wavy_Hair"]) and _bern(rng, 0.35)
    a["Double_Chin"] = _bern(rng, 0.5 if a["Chubby"] else 0.02)
    beard = male and _bern(rng, 0.4)
    a["No_Beard"] = not beard
    a["Goatee"] = beard and _bern(rng, 0.38)
    a["Mustache"] = beard and _bern(rng, 0.25)
    a["Sideburns"] = beard and _bern(rng, 0.33)
    a["5_o_Clock_Shadow"] = male and not a["Goatee"] and _bern(rng, 0.3)

    skin_l = rng.uniform(0.35, 0.85) if not pale else rng.uniform(0.85, 0.95)
    skin = np.array([skin_l + 0.10, skin_l * 0.82 + 0.04, skin_l * 0.68], dtype=np.float32) * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    hair_c = np.array(_HAIR_COLOURS[hair], dtype=np.float32) * rng.uniform(0.8, 1.2, 3).astype(np.float32)
    p = {
        "fa": rng.uniform(0.40, 0.50) + (0.06 if a["Chubby"] else 0.0) + (0.03 if male else 0.0),
        "fb": rng.uniform(0.58, 0.68) + (0.05 if a["Oval_Face"] else 0.0),
        "taper": rng.uniform(0.25, 0.55) + (0.15 if a["Oval_Face"] else 0.0) - (0.15 if male else 0.0),
        "fy": rng.uniform(-0.06, 0.04),
        "skin": np.clip(skin, 0, 1),
        "hair": np.clip(hair_c, 0, 1),
        "vol": rng.uniform(0.02, 0.12) if not bald else 0.0,
        "hair_len": (rng.uniform(-0.2, 0.3) if male else rng.uniform(0.2, 0.9)) if not bald else -1.0,
        "hairline": rng.uniform(0.42, 0.55) + (0.15 if a["Receding_Hairline"] else 0.0),
        "wave_amp": rng.uniform(0.02, 0.05) if a["Wavy_Hair"] else rng.uniform(0.0, 0.01),
        "wave_f": rng.uniform(8, 16),
        "es": rng.uniform(0.17, 0.23), "ey": rng.uniform(-0.12, -0.04),
        "ew": rng.uniform(0.07, 0.09), "eh": rng.uniform(0.035, 0.05) * (0.6 if a["Narrow_Eyes"] else 1.0),
        "iris": np.array(rng.choice([[0.25, 0.15, 0.08], [0.1, 0.1, 0.1], [0.3, 0.45, 0.6], [0.3, 0.45, 0.3]]), dtype=np.float32),
        "brow_th": rng.uniform(0.012, 0.02) * (1.8 if a["Bushy_Eyebrows"] else 1.0),
        "brow_arch": rng.uniform(0.0, 0.02) + (0.035 if a["Arched_Eyebrows"] else 0.0),
        "brow_gap": rng.uniform(0.08, 0.11),
        "nw": rng.uniform(0.035, 0.05) * (1.5 if a["Big_Nose"] else 1.0),
        "ny": rng.uniform(0.15, 0.22) + (0.03 if a["Pointy_Nose"] else 0.0),
        "mw": rng.uniform(0.12, 0.17), "my": rng.uniform(0.33, 0.40),
        "lip": rng.uniform(0.014, 0.022) * (1.6 if a["Big_Lips"] else 1.0),
        "lip_c": np.array([0.75, 0.12, 0.2] if a["Wearing_Lipstick"] else [0.7, 0.42, 0.4], dtype=np.float32) * rng.uniform(0.85, 1.1),
        "frame_c": np.array(rng.choice([[0.05, 0.05, 0.05], [0.4, 0.25, 0.1], [0.7, 0.7, 0.72], [0.1, 0.1, 0.3]]), dtype=np.float32),
        "sunglasses": _bern(rng, 0.15),
        "glass_r": rng.uniform(0.085, 0.11),
        "age_lines": 0.0 if young else rng.uniform(0.02, 0.06),
    }
    freqs = rng.uniform(0.4, 4.5, size=(_TEXTURE_TERMS, 2)) * rng.choice([-1, 1], size=(_TEXTURE_TERMS, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(_TEXTURE_TERMS, 1))
    decay = 1.0 / (1.0 + np.hypot(freqs[:, 0], freqs[:, 1]))[:, None]
    amp = rng.normal(0, 1, size=(_TEXTURE_TERMS, 2)) * decay * np.array([0.09, 0.18]) * cfg.texture / np.sqrt(_TEXTURE_TERMS / 4)
    texture = np.concatenate([2 * np.pi * freqs, phase, amp], axis=1).astype(np.float32)
    # CelebA: a third of identities wear glasses in some image, few in most -> ~7% of images
    glasses_rate = float(rng.choice([0.003, 0.12, 0.6], p=[0.8, 0.12, 0.08]))
    return _Identity(attrs=a, p=p, texture=texture, glasses_rate=glasses_rate)


def _image_params(seed: int, i: int, ident: _Identity, cfg: SynthConfig) -> tuple[dict, dict]:
    rng = np.random.default_rng([seed, 2, i])
    a = ident.attrs
    smiling = _bern(rng, 0.48)
    img_attrs = {
        "Smiling": smiling,
        "Mouth_Slightly_Open": _bern(rng, 0.7 if smiling else 0.3),
        "Eyeglasses": _bern(rng, ident.glasses_rate),
        "Wearing_Hat": _bern(rng, 0.045),
        "Blurry": _bern(rng, 0.05),
        "Wearing_Earrings": (not a["Male"]) and _bern(rng, 0.3),
        "Wearing_Necklace": (not a["Male"]) and _bern(rng, 0.2),
        "Wearing_Necktie": a["Male"] and _bern(rng, 0.17),
    }
    q = {
        "yaw": rng.uniform(-1, 1) * 0.09 * cfg.pose,
        "roll": rng.normal(0, 0.06) * cfg.pose,
        "dx": rng.normal(0, 0.025) * cfg.pose,
        "dy": rng.normal(0, 0.025) * cfg.pose,
        "scale": 1.2 * (1.0 + rng.normal(0, 0.035) * cfg.pose),  # CelebA faces fill most of the crop
        "smile": (rng.uniform(0.55, 1.0) if smiling else rng.uniform(-0.1, 0.3)) * cfg.expression,
        "open": (rng.uniform(0.4, 1.0) if img_attrs["Mouth_Slightly_Open"] else 0.0) * cfg.expression,
        "brow_raise": rng.normal(0, 0.012) * cfg.expression,
        "light_dir": rng.normal(0, 0.3, size=2) * cfg.lighting,
        "bright": 1.0 + rng.normal(0, 0.1) * cfg.lighting,
        "tint": (1.0 + rng.normal(0, 0.04, size=3) * cfg.lighting).astype(np.float32),
        "bg": rng.uniform(0.1, 0.95, size=3).astype(np.float32),
        "bg_grad": rng.normal(0, 0.25),
        "clothes": rng.uniform(0.05, 0.9, size=3).astype(np.float32),
        "hat": rng.uniform(0.05, 0.9, size=3).astype(np.float32),
        "noise_seed": int(rng.integers(0, 2**31)),
    }
    if cfg.background > 0:
        # drawn after every other parameter so that background=0 leaves the other draws unchanged
        f = rng.uniform(0.25, 1.5, size=(_BG_TERMS, 2)) * rng.choice([-1, 1], size=(_BG_TERMS, 2))
        q["bg_field"] = np.concatenate(
            [2 * np.pi * f, rng.uniform(0, 2 * np.pi, size=(_BG_TERMS, 1)),
             rng.normal(0, 1, size=(_BG_TERMS, 1)) * 0.3 * cfg.background / np.sqrt(_BG_TERMS / 2)], axis=1)
    return img_attrs, q


# ---------------------------------------------------------------------------------------------
# rendering

_ROW = ((np.arange(_H, dtype=np.float64) + 0.5) * _SY - 109) / 80.0
_COL = ((np.arange(_W, dtype=np.float64) + 0.5) * _SX - 89) / 80.0
_YY, _XX = (g.astype(np.float32) for g in np.meshgrid(_ROW, _COL, indexing="ij"))


def _ramp(d: np.ndarray, width: float = _PX) -> np.ndarray:
    """Soft inside-mask of a signed distance (negative inside), one pixel wide, for antialiasing."""
    return np.clip(0.5 - d / width, 0.0, 1.0)


def _ellipse(X, Y, x0, y0, a, b):
    return (np.sqrt(((X - x0) / a) ** 2 + ((Y - y0) / b) ** 2) - 1.0) * min(a, b)


def _paint(img: np.ndarray, mask: np.ndarray, colour) -> None:
    img += mask[..., None] * (np.asarray(colour, dtype=np.float32) - img)


def _render(ident: _Identity, img_attrs: dict, q: dict) -> np.ndarray:
    """One face as float32 (H, W, 3) at the render resolution."""
    p, a = ident.p, ident.attrs
    # pose: face coordinates (X, Y) of every pixel
    c, s = np.cos(q["roll"]), np.sin(q["roll"])
    x0, y0 = _XX - q["dx"], _YY - q["dy"]
    X = (c * x0 + s * y0) / q["scale"]
    Y = (-s * x0 + c * y0) / q["scale"]
    yaw = q["yaw"]
    fx = yaw * 0.3  # outline moves less than the features (depth)

    # the texture lives in face coordinates, which are affine in the pixel grid: each cosine term
    # factorises into a row and a column phasor, so the field is one small complex matmul
    tex = ident.texture
    ax = (tex[:, 0] * c - tex[:, 1] * s) / q["scale"]  # d(phase)/dx0
    ay = (tex[:, 0] * s + tex[:, 1] * c) / q["scale"]  # d(phase)/dy0
    b = tex[:, 2] - ax * q["dx"] - ay * q["dy"]
    rows = np.exp(1j * (_ROW[:, None] * ay[None, :] + b[None, :]))  # (H, K)
    cols = np.exp(1j * (_COL[:, None] * ax[None, :]))  # (W, K)
    t_skin = ((rows * tex[:, 3]) @ cols.T).real.astype(np.float32)
    t_hair = ((rows * tex[:, 4]) @ cols.T).real.astype(np.float32)

    def win(cx: float, cy: float, r: float) -> tuple[slice, slice]:
        """Pixel window holding a feature of radius r (face units) centred at (cx, cy)."""
        x = q["scale"] * (c * cx - s * cy) + q["dx"]
        y = q["scale"] * (s * cx + c * cy) + q["dy"]
        col, row = (x * 80 + 89) / _SX - 0.5, (y * 80 + 109) / _SY - 0.5
        rad = r * q["scale"] * 80 / min(_SX, _SY) + 2
        return (slice(max(int(row - rad), 0), max(int(row + rad) + 2, 0)), slice(max(int(col - rad), 0), max(int(col + rad) + 2, 0)))

    img = np.empty((_H, _W, 3), dtype=np.float32)
    img[:] = q["bg"]
    img *= (1.0 + q["bg_grad"] * _YY)[..., None]
    if "bg_field" in q:
        bf = q["bg_field"]
        field = np.cos(_XX[..., None] * bf[:, 0] + _YY[..., None] * bf[:, 1] + bf[:, 2]) @ bf[:, 3]
        img *= (1.0 + field.astype(np.float32))[..., None]
    # shoulders and clothes
    _paint(img, _ramp(0.92 + 0.35 * X**2 - Y, 2 * _PX), q["clothes"])
    if img_attrs["Wearing_Necktie"]:
        _paint(img, _ramp(np.maximum(np.abs(X - fx) - 0.05 - 0.08 * (Y - 0.95), 0.95 - Y)) * (Y < 1.35), (0.5, 0.08, 0.1))
    fa, fb, fy = p["fa"], p["fb"], p["fy"]
    hair = p["hair"][None, None, :] * (1.0 + t_hair)[..., None]
    # long hair behind the head
    if not a["Bald"]:
        back = np.minimum(
            _ellipse(X, Y, fx, fy - 0.08, fa + 0.1 + p["vol"], fb + 0.12 + p["vol"]),
            np.maximum(np.abs(X - fx) - (fa + 0.06 + p["vol"]), np.maximum(Y - (fy + p["hair_len"]), fy - 0.1 - Y)),
        )
        m = _ramp(back + p["wave_amp"] * np.sin(p["wave_f"] * Y))
        img += m[..., None] * (hair - img)
    # neck and ears
    skin = p["skin"]
    _paint(img, _ramp(np.maximum(np.abs(X - fx) - 0.2, 0.3 - Y)) * (Y < 1.1), skin * 0.82)
    def blob(x0: float, y0: float, a_: float, b_: float, colour, alpha: float = 1.0, width: float = _PX) -> None:
        w = win(x0, y0, max(a_, b_) + 2 * width)
        _paint(img[w], _ramp(_ellipse(X[w], Y[w], x0, y0, a_, b_), width) * alpha, colour)

    for side in (-1, 1):
        blob(fx + side * (fa + 0.01), fy + 0.02, 0.06, 0.11, skin * 0.9)
    # face with a tapered jaw
    yrel = Y - fy
    a_eff = fa * (1.0 - p["taper"] * np.clip(yrel / fb, 0, None) ** 2)
    r = np.sqrt(((X - fx) / np.maximum(a_eff, 0.05)) ** 2 + (yrel / fb) ** 2)
    face = _ramp((r - 1.0) * fa)
    shade = (1.0 - 0.18 * r**2) * (1.0 + t_skin)
    _paint(img, face, skin[None, None, :] * shade[..., None])
    if a["Double_Chin"]:
        blob(fx, fy + fb * 0.95, fa * 0.45, 0.06, skin * 0.78, 0.5)

    fxf = yaw  # features follow the yaw more
    ey = fy + p["ey"]
    my = fy + p["my"]
    # facial hair
    if a["5_o_Clock_Shadow"]:
        _paint(img, face * _ramp(fy + 0.2 - Y, 3 * _PX) * 0.25, p["hair"] * 0.6)
    if not a["No_Beard"]:
        beard = face * _ramp(fy + 0.22 - Y, 3 * _PX) * (0.55 + 0.4 * (1 + t_hair))
        if a["Goatee"]:
            beard = beard * _ramp(np.abs(X - fxf) - 0.16, 3 * _PX)
        _paint(img, np.clip(beard, 0, 0.9), p["hair"] * 0.8)
    if a["Sideburns"]:
        for side in (-1, 1):
            w = win(fx + side * fa, fy + 0.02, 0.2)
            _paint(img[w], face[w] * _ramp(np.maximum(np.abs(Y[w] - (fy + 0.02)) - 0.12, (fa - 0.08) - side * (X[w] - fx))), p["hair"])
    # eyes, brows and makeup
    for side in (-1, 1):
        ex = fxf + side * p["es"] * (1.0 - side * yaw * 0.8)
        if a["Heavy_Makeup"]:
            blob(ex, ey - 0.025, p["ew"] * 1.3, p["eh"] * 1.8, (0.35, 0.2, 0.3), 0.45, 3 * _PX)
        if a["Bags_Under_Eyes"]:
            blob(ex, ey + 0.05, p["ew"] * 0.9, 0.025, skin * 0.6, 0.35, 2 * _PX)
        blob(ex, ey, p["ew"], p["eh"], (0.92, 0.92, 0.9))
        blob(ex + yaw * 0.05, ey, p["eh"] * 0.85, p["eh"] * 0.85, p["iris"])
        w = win(ex, ey - p["brow_gap"], p["ew"] * 1.4 + 0.08)
        bx = (X[w] - ex) / (p["ew"] * 1.4)
        brow_y = ey - p["brow_gap"] - q["brow_raise"] - p["brow_arch"] * (1 - bx**2)
        _paint(img[w], _ramp(np.maximum(np.abs(Y[w] - brow_y) - p["brow_th"], np.abs(bx) - 1.0) * 0.5) * 0.9, p["hair"] * 0.7)
    # nose
    nx = fxf * 1.4
    ny = fy + p["ny"]
    w = win(nx, (ey + ny) / 2, (ny - ey) / 2 + 0.1)
    ridge = _ramp(np.maximum(np.abs(X[w] - nx - 0.02) - 0.01, np.maximum(ey + 0.05 - Y[w], Y[w] - ny)), 3 * _PX) * 0.25
    _paint(img[w], ridge, skin * 0.7)
    for side in (-1, 1):
        blob(nx + side * p["nw"] * 0.6, ny, p["nw"] * 0.45, 0.018, skin * 0.45, 0.8)
    if a["Rosy_Cheeks"] or a["High_Cheekbones"]:
        col = (0.9, 0.35, 0.35) if a["Rosy_Cheeks"] else skin * 1.15
        for side in (-1, 1):
            blob(fxf + side * 0.26, fy + 0.13, 0.08, 0.06, col, 0.4, 4 * _PX)
    # mouth: a smile lifts the corners, an open mouth shows a dark gap (teeth when smiling)
    w = win(fxf, my - 0.02, p["mw"] * 1.1 + 0.12)
    Xw, Yw, iw = X[w], Y[w], img[w]
    if a["Mustache"]:
        _paint(iw, _ramp(np.maximum(np.abs(Yw - (my - 0.05)) - 0.02, np.abs(Xw - fxf) - p["mw"] * 1.05)) * 0.9, p["hair"] * 0.7)
    mx = (Xw - fxf) / p["mw"]
    curve = my - q["smile"] * 0.05 * (mx**2 - 0.3)
    gap = 0.004 + q["open"] * 0.025
    in_width = np.abs(mx) - 1.0
    _paint(iw, _ramp(np.maximum(np.abs(Yw - curve) - (gap + p["lip"]), in_width * p["mw"])), p["lip_c"])
    if q["open"] > 0:
        inner = _ramp(np.maximum(np.abs(Yw - curve) - gap, in_width * p["mw"] + 0.01))
        _paint(iw, inner, (0.95, 0.93, 0.88) if img_attrs["Smiling"] else (0.2, 0.05, 0.05))
        if img_attrs["Smiling"]:
            _paint(iw, inner * _ramp(curve + gap * 0.2 - Yw, _PX), (0.25, 0.05, 0.05))
    else:
        _paint(iw, _ramp(np.maximum(np.abs(Yw - curve) - 0.004, in_width * p["mw"])) * 0.7, (0.3, 0.1, 0.1))
    if p["age_lines"] > 0:
        w = win(fxf, ny + 0.1, 0.3)
        for side in (-1, 1):
            lines = _ramp(np.abs(np.hypot(X[w] - fxf - side * 0.05, Y[w] - ny) - 0.17) - 0.006) * (Y[w] > ny)
            _paint(img[w], face[w] * lines * p["age_lines"] * 8, skin * 0.6)
    # hair on top (after the face: it covers the forehead); bangs come lower in the middle
    if not a["Bald"]:
        hairline = fy - fb * p["hairline"] + p["wave_amp"] * np.sin(p["wave_f"] * X)
        if a["Bangs"]:
            hairline = hairline + 0.22 * _ramp(np.abs(X - fx) - 0.3, 0.1) + 0.02 * np.sin(40 * X)
        top = np.maximum(_ellipse(X, Y, fx, fy - 0.03, fa + 0.05 + p["vol"], fb + 0.06 + p["vol"]), Y - np.maximum(hairline, np.where(face > 0.5, -9.0, fy + 0.05)))
        m = _ramp(top)
        img += m[..., None] * (hair - img)
    # glasses: rims round each eye and a bridge (dark lenses for sunglasses wearers)
    if img_attrs["Eyeglasses"]:
        rr = p["glass_r"]
        for side in (-1, 1):
            ex = fxf + side * p["es"] * (1.0 - side * yaw * 0.8)
            w = win(ex, ey + 0.01, rr * 1.15 + 0.05)
            d = _ellipse(X[w], Y[w], ex, ey + 0.01, rr * 1.15, rr * 0.85)
            if p["sunglasses"]:
                _paint(img[w], _ramp(d) * 0.85, (0.05, 0.05, 0.07))
            _paint(img[w], _ramp(np.abs(d) - 0.01), p["frame_c"])
        w = win(fxf, ey, p["es"])
        _paint(img[w], _ramp(np.maximum(np.abs(Y[w] - (ey - 0.01)) - 0.008, np.abs(X[w] - fxf) - (p["es"] - rr * 1.1))), p["frame_c"])
    if img_attrs["Wearing_Hat"]:
        crown = np.maximum(_ellipse(X, Y, fx, fy - 0.1, fa + 0.12, fb + 0.12), Y - (fy - fb * 0.5))
        brim = np.maximum(np.abs(Y - (fy - fb * 0.5)) - 0.03, np.abs(X - fx) - (fa + 0.25))
        _paint(img, _ramp(np.minimum(crown, brim)), q["hat"])
    if img_attrs["Wearing_Earrings"]:
        for side in (-1, 1):
            blob(fx + side * (fa + 0.02), fy + 0.14, 0.025, 0.025, (0.95, 0.8, 0.3))
    if img_attrs["Wearing_Necklace"]:
        _paint(img, _ramp(np.abs(np.hypot((X - fx) / 0.3, (Y - 0.7) / 0.35) - 1.0) * 0.3 - 0.008) * (Y > 0.85), (0.9, 0.85, 0.7))
    # lighting: a directional gradient, brightness and a colour cast
    lx, ly = q["light_dir"]
    light = q["bright"] * (1.0 + lx * X + ly * Y)
    img *= light[..., None] * q["tint"]
    return img


def _to_jpeg(img: np.ndarray, rng: np.random.Generator, blurry: bool) -> bytes:
    noisy = img + rng.normal(0.0, 0.01, size=img.shape).astype(np.float32)
    small = Image.fromarray(np.clip(noisy * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
    full = small.resize((178, 218), Image.Resampling.BICUBIC)
    if blurry:
        full = full.filter(ImageFilter.GaussianBlur(radius=2.5))
    import io

    buf = io.BytesIO()
    full.save(buf, format="JPEG", quality=_JPEG_QUALITY)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# dataset layout


def _plan(cfg: SynthConfig) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """(identity index of every image in file order, identity label of every identity index,
    {duplicate image index: source image index})."""
    rng = np.random.default_rng([cfg.seed, 0])
    hist = _IMAGES_PER_IDENTITY_HIST / _IMAGES_PER_IDENTITY_HIST.sum()
    counts = rng.choice(np.arange(1, 36), size=cfg.identities, p=hist)
    owner = np.repeat(np.arange(cfg.identities), counts)
    owner = owner[rng.permutation(owner.size)]  # CelebA files are not grouped by identity
    labels = rng.permutation(cfg.identities) + 1
    n_dup = int(round(cfg.duplicate_rate * owner.size))
    dups: dict[int, int] = {}
    if n_dup:
        by_owner: dict[int, list[int]] = {}
        for i, o in enumerate(owner.tolist()):
            by_owner.setdefault(o, []).append(i)
        candidates = [i for i, o in enumerate(owner.tolist()) if len(by_owner[o]) >= 2]
        chosen = rng.permutation(np.asarray(candidates, dtype=np.int64))[:n_dup] if candidates else []
        taken = set(int(c) for c in chosen)
        for j in sorted(taken):
            sources = [i for i in by_owner[int(owner[j])] if i not in taken]
            if sources:
                dups[j] = int(sources[int(rng.integers(len(sources)))])
    return owner, labels, dups


def _filename(i: int) -> str:
    return f"{i + 1:06d}.jpg"


def generate(out_dir: str | os.PathLike, cfg: SynthConfig) -> Path:
    """Write the synthetic faces of ``cfg`` into ``out_dir`` (CelebA layout), atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"{out_dir}: exists and is not an empty folder; choose a new output folder")
    if out_dir.exists():
        out_dir.rmdir()
    owner, labels, dups = _plan(cfg)
    identities = [_identity(cfg.seed, k, cfg) for k in range(cfg.identities)]
    n = owner.size
    rows = []
    with atomic_dir(out_dir) as tmp:
        img_dir = tmp / IMAGE_DIR
        img_dir.mkdir()
        for i in range(n):
            src = dups.get(i, i)
            ident = identities[int(owner[src])]
            img_attrs, q = _image_params(cfg.seed, src, ident, cfg)
            img = _render(ident, img_attrs, q)
            rng = np.random.default_rng([cfg.seed, 3, i])
            if src != i:
                # a near-duplicate: the same face and pose, slightly re-exposed and re-noised
                img = img * np.float32(1.0 + rng.uniform(-0.03, 0.03))
            (img_dir / _filename(i)).write_bytes(_to_jpeg(img, rng, img_attrs["Blurry"]))
            merged = {**ident.attrs, **img_attrs}
            rows.append(_filename(i) + " " + " ".join(" 1" if merged[name] else "-1" for name in ATTRIBUTE_NAMES))
        (tmp / ATTR_FILE).write_text(f"{n}\n" + " ".join(ATTRIBUTE_NAMES) + " \n" + "\n".join(rows) + "\n", encoding="utf-8")
        (tmp / IDENTITY_FILE).write_text("".join(f"{_filename(i)} {labels[o]}\n" for i, o in enumerate(owner.tolist())), encoding="utf-8")
        (tmp / DUPLICATES_FILE).write_text("".join(f"{_filename(s)} {_filename(j)}\n" for j, s in sorted(dups.items())), encoding="utf-8")
        (tmp / CONFIG_FILE).write_text(json.dumps(to_dict(cfg), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out_dir


def read_duplicates(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Ground-truth planted pairs ``(source, duplicate)`` of a synthetic folder's ``duplicates.txt``."""
    path = Path(path)
    if path.is_dir():
        path = path / DUPLICATES_FILE
    pairs = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    for k, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise InputError(f"{path}:{k}: expected 'source duplicate', found {line[:60]!r}")
        pairs.append((parts[0], parts[1]))
    return pairs
