"""What a photo needs: the estimators find a known degradation and suggest the task that fixes it.

Every photo is made here: a clean scene drawn with OpenCV (sky, hill, pebbles, a woven fabric,
sharp shapes), then degraded in one known way. The measured values are checked against the
degradation, so an estimator that drifts fails here before it misleads people.
"""

from __future__ import annotations

import io
import json
import sys

import cv2
import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.suggest import BLOCKY, NOISY_SIGMA, suggest
from irsde_gui.core.tasks import TASKS


def render_scene(h: int = 768, w: int = 1024, seed: int = 0) -> np.ndarray:
    """A clean photo: sky gradient, a green hill, a field of pebbles, a woven fabric and sharp
    shapes, some dark; drawn at twice the size and shrunk (as optics and a sensor do), with the
    faint noise of a good sensor and 8-bit levels."""
    rng = np.random.default_rng(seed)
    hh, ww = 2 * h, 2 * w
    yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float32)
    t = (yy / hh)[..., None]
    img = np.concatenate([0.45 + 0.3 * t, 0.6 + 0.25 * t, 0.95 - 0.1 * t], axis=2)
    ground = yy > hh * (0.45 + 0.05 * np.sin(xx / ww * 6.0))
    img[ground] = (np.array([0.25, 0.45, 0.15], np.float32) * (0.6 + 0.4 * t))[ground]
    for _ in range(1500):  # pebbles, lower left
        centre = (int(rng.uniform(0, ww * 0.5)), int(rng.uniform(hh * 0.55, hh)))
        axes = (int(rng.uniform(6, 22)), int(rng.uniform(4, 14)))
        colour = (rng.uniform(0.15, 0.8) * rng.uniform(0.8, 1.2, 3)).tolist()
        cv2.ellipse(img, centre, axes, rng.uniform(0, 180), 0, 360, colour, -1)
    top, left = int(hh * 0.6), ww // 2 + 40  # a woven fabric, lower right
    weave = 0.5 + 0.25 * np.sign(np.sin(xx[top:, left:] / 5.0)) * np.sign(np.sin(yy[top:, left:] / 7.0))
    img[top:, left:] = weave[..., None] * np.array([0.9, 0.3, 0.25], np.float32)
    for _ in range(14):
        cx, cy, r = (
            int(rng.uniform(0.05 * ww, 0.95 * ww)),
            int(rng.uniform(0.1 * hh, 0.9 * hh)),
            int(rng.uniform(20, 90)),
        )
        colour = (rng.uniform(0, 1, 3) * (0.15 if rng.random() < 0.4 else 1.0)).tolist()
        if rng.random() < 0.5:
            cv2.circle(img, (cx, cy), r, colour, -1)
        else:
            cv2.rectangle(img, (cx - r, cy - r // 2), (cx + r, cy + r // 2), colour, -1)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return levels(img + rng.normal(0, 0.8 / 255, img.shape))


def pebbles_everywhere(h: int = 768, w: int = 1024, seed: int = 1) -> np.ndarray:
    """A photo that is texture from edge to edge (a pebble beach): no flat part to see noise in."""
    rng = np.random.default_rng(seed)
    img = np.full((2 * h, 2 * w, 3), 0.4, np.float32)
    for _ in range(9000):
        centre = (int(rng.uniform(0, 2 * w)), int(rng.uniform(0, 2 * h)))
        axes = (int(rng.uniform(5, 20)), int(rng.uniform(3, 12)))
        colour = (rng.uniform(0.1, 0.85) * rng.uniform(0.85, 1.15, 3)).tolist()
        cv2.ellipse(img, centre, axes, rng.uniform(0, 180), 0, 360, colour, -1)
    return levels(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))


def levels(img: np.ndarray) -> np.ndarray:
    """As an 8-bit file holds it."""
    return (np.round(np.clip(img, 0, 1) * 255) / 255).astype(np.float32)


def camera_like_noise(clean: np.ndarray, shot: float, read: float, seed: int = 0) -> np.ndarray:
    """Noise as a camera makes it: Poisson-Gaussian at each photosite of an RGGB sensor (stronger
    where it is brighter), white balance, demosaicing (which correlates it over neighbouring
    pixels and channels), then the sRGB tone curve (which lifts it in the shadows)."""
    rng = np.random.default_rng(seed)
    wb = np.array([2.0, 1.0, 1.6], np.float32)
    lin = clean.astype(np.float32) ** 2.2
    raw = lin / wb
    h, w = clean.shape[:2]
    mosaic = np.empty((h, w), np.float32)
    mosaic[0::2, 0::2], mosaic[0::2, 1::2] = raw[0::2, 0::2, 0], raw[0::2, 1::2, 1]
    mosaic[1::2, 0::2], mosaic[1::2, 1::2] = raw[1::2, 0::2, 1], raw[1::2, 1::2, 2]
    noisy = mosaic + rng.normal(0, 1, mosaic.shape) * np.sqrt(shot * mosaic + read)

    def demosaic(m):  # OpenCV names the pattern by its second row
        u16 = (np.clip(m, 0, 1) * 65535).astype(np.uint16)
        return cv2.cvtColor(u16, cv2.COLOR_BayerBG2RGB).astype(np.float32) / 65535

    noise = (demosaic(noisy) - demosaic(mosaic)) * wb
    return levels(np.clip(lin + noise, 0, 1) ** (1 / 2.2))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255


def motion_blur(rgb: np.ndarray, length: int, angle: float) -> np.ndarray:
    k = np.zeros((length + 2, length + 2), np.float32)
    c, a = (length + 1) / 2, np.deg2rad(angle)
    ends = [(round(c + s * length / 2 * np.cos(a)), round(c + s * length / 2 * np.sin(a))) for s in (-1, 1)]
    cv2.line(k, ends[0], ends[1], 1.0, 1)
    return levels(cv2.filter2D(rgb, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT))


@pytest.fixture(scope="module")
def scene():
    return render_scene()


def values(s) -> dict:
    return {f.name: f.value for f in s.findings}


# ---------------------------------------------------------------- clean photos
def test_a_clean_photo_gets_no_suggestion(scene):
    s = suggest(scene)
    v = values(s)
    assert s.task is None and s.text == "", s
    assert v["noise"] < 2.0 and v["jpeg"] < 1.15 and v["blur"] < 1.0 and v["haze"] < 0.1, v
    assert not any(f.flagged for f in s.findings)
    assert (s.width, s.height) == (1024, 768)


def test_texture_from_edge_to_edge_is_not_noise():
    s = suggest(pebbles_everywhere())
    assert s.finding("noise").value < 0.8 * NOISY_SIGMA, s.summary()
    assert s.task is None, s


# ---------------------------------------------------------------- one degradation each
@pytest.mark.parametrize("sigma", [8, 15, 30])
def test_gaussian_noise_is_measured_and_suggests_denoise(scene, sigma):
    rng = np.random.default_rng(sigma)
    s = suggest(levels(scene + rng.normal(0, sigma / 255, scene.shape)))
    assert s.finding("noise").value == pytest.approx(sigma, rel=0.15), s.summary()
    assert (
        s.task == "denoise"
        and s.text == f"Looks noisy (σ ≈ {s.finding('noise').value:.0f}) — Denoise suggested"
    )


def test_camera_noise_correlated_and_brighter_in_the_shadows_is_seen(scene):
    noisy = camera_like_noise(scene, shot=4e-3, read=1e-5)
    truth = float((noisy - scene).std() * 255)
    s = suggest(noisy)
    # The flattest parts speak for the photo, so a signal-dependent noise reads a little low.
    assert 0.5 * truth <= s.finding("noise").value <= 1.3 * truth, (truth, s.summary())
    assert s.task == "denoise", s


def test_a_faint_camera_noise_suggests_nothing(scene):
    noisy = camera_like_noise(scene, shot=1e-4, read=1e-6)
    s = suggest(noisy)
    assert s.finding("noise").value < NOISY_SIGMA and s.task is None, s


@pytest.mark.parametrize("quality", [10, 20])
def test_heavy_jpeg_is_blocks_not_noise(scene, quality):
    s = suggest(jpeg(scene, quality))
    assert s.finding("jpeg").value >= BLOCKY and s.finding("jpeg").flagged, s.summary()
    assert not s.finding("noise").flagged, s.summary()
    assert s.task == "denoise" and "JPEG" in s.text


def test_a_good_jpeg_has_no_blocks(scene):
    s = suggest(jpeg(scene, 92))
    assert s.finding("jpeg").value < 1.1 and s.task is None, s.summary()


def test_a_cropped_jpeg_keeps_its_blocks(scene):
    cropped = jpeg(scene, 15)[3:, 5:]  # the 8-px grid no longer starts at the corner
    assert suggest(cropped).finding("jpeg").flagged


@pytest.mark.parametrize("sigma", [2.5, 4.0])
def test_gaussian_blur_is_measured_and_suggests_deblur(scene, sigma):
    s = suggest(levels(cv2.GaussianBlur(scene, (0, 0), sigma)))
    assert s.finding("blur").value == pytest.approx(sigma, abs=0.6), s.summary()
    assert s.task == "deblur" and s.text.startswith("Looks blurred") and "Deblur suggested" in s.text


@pytest.mark.parametrize("angle", [0, 60, 90])
def test_a_shake_in_one_direction_suggests_deblur(scene, angle):
    s = suggest(motion_blur(scene, 15, angle))
    assert s.task == "deblur", s.summary()


def test_a_larger_photo_is_judged_at_screen_size(scene):
    """A 3072 px photo blurred by 6 px looks like the 1024 px one blurred by 2 px; the value is
    given in the photo's own pixels."""
    big = cv2.resize(scene, (3072, 2304), interpolation=cv2.INTER_CUBIC)
    s = suggest(levels(cv2.GaussianBlur(big, (0, 0), 7.5)))
    assert s.task == "deblur" and s.finding("blur").value == pytest.approx(7.5, rel=0.25), s.summary()


def test_haze_suggests_dehaze(scene):
    h = scene.shape[0]
    depth = np.linspace(1.0, 0.3, h, dtype=np.float32)[:, None, None]  # far at the top
    t = np.exp(-1.6 * depth)
    airlight = np.array([0.85, 0.87, 0.9], np.float32)
    s = suggest(levels(scene * t + airlight * (1 - t)))
    assert s.finding("haze").flagged and s.task == "dehaze" and s.text == "Looks hazy — Dehaze suggested"


def test_a_small_photo_suggests_upscaling():
    small = cv2.resize(render_scene(), (480, 320), interpolation=cv2.INTER_AREA)
    s = suggest(small)
    assert s.task == "sr" and s.text == "Small (480×320): Upscale ×4?", s.summary()


def test_noise_comes_before_upscaling():
    small = cv2.resize(render_scene(), (480, 320), interpolation=cv2.INTER_AREA)
    noisy = levels(small + np.random.default_rng(0).normal(0, 20 / 255, small.shape))
    s = suggest(noisy)
    assert s.task == "denoise" and s.finding("size").flagged


def test_suggested_tasks_are_tasks(scene):
    assert {"denoise", "deblur", "dehaze", "sr"} <= set(TASKS)


# ---------------------------------------------------------------- any photo
@pytest.mark.parametrize(
    "photo",
    [
        np.zeros((600, 900, 3), np.float32),
        np.ones((1000, 1200, 3), np.float32),
        smooth_image(9, 7),
        smooth_image(48, 64),
        np.repeat(smooth_image(300, 200)[..., :1], 3, axis=2),  # grey
        (smooth_image(120, 90) * 65535).astype(np.uint16),
        (smooth_image(120, 90)[..., 0] * 255).astype(np.uint8),  # one channel
    ],
)
def test_any_photo_gets_an_answer(photo):
    s = suggest(photo)
    assert (s.task is None) == (s.text == "") and (s.task is None or s.task in TASKS)
    assert (s.width, s.height) == photo.shape[1::-1]
    json.dumps(s.to_dict())


@pytest.mark.parametrize("photo", [np.zeros((600, 900, 3), np.float32), np.ones((1000, 1200, 3), np.float32)])
def test_a_blank_photo_needs_nothing(photo):
    assert suggest(photo).task is None


def test_a_grey_photo_is_not_called_hazy():
    grey = np.repeat(np.full((900, 1200, 1), 0.7, np.float32), 3, axis=2)
    grey[200:400, 300:700] = 0.9
    s = suggest(grey)
    assert s.finding("haze").value is None and s.task is None


def test_not_a_photo_is_a_value_error():
    with pytest.raises(ValueError, match="not a photo"):
        suggest(np.zeros((0, 10, 3), np.float32))


# ---------------------------------------------------------------- irsde suggest
def write(path, rgb):
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_cli_one_line_per_photo_and_a_bad_photo_named(tmp_path, scene, capsys):
    noisy = write(
        tmp_path / "noisy.png", levels(scene + np.random.default_rng(0).normal(0, 15 / 255, scene.shape))
    )
    clean = write(tmp_path / "clean.png", scene)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    rc = main(["suggest", str(noisy), str(bad), str(clean)])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{noisy}: Looks noisy (σ ≈ 1") and "Denoise suggested" in lines[0]
    assert lines[1].startswith(f"{clean}: nothing to fix found (noise σ ")
    assert err.count("\n") == 1 and "broken.jpg" in err and err.startswith("irsde: error: ")
    assert "Traceback" not in err


def test_cli_json_for_scripts(tmp_path, scene, capsys):
    small = write(tmp_path / "small.png", cv2.resize(scene, (480, 320), interpolation=cv2.INTER_AREA))
    rc = main(["suggest", "--json", str(small), str(tmp_path / "missing.png")])
    out, err = capsys.readouterr()
    assert rc == 1 and "missing.png" in err
    (entry,) = json.loads(out)
    assert entry["path"] == str(small) and entry["task"] == "sr" and entry["width"] == 480
    assert set(entry["findings"]) == {"noise", "jpeg", "blur", "haze", "size"}
    assert entry["findings"]["size"]["flagged"] is True


def test_cli_all_good_exits_zero(tmp_path, scene, capsys):
    rc = main(["suggest", str(write(tmp_path / "a.png", scene))])
    assert rc == 0 and "nothing to fix found" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names cannot hold a newline")
def test_cli_a_newline_in_a_name_stays_on_its_line(tmp_path, scene, capsys):
    odd = write(tmp_path / "we\nird.png", cv2.resize(scene, (480, 320), interpolation=cv2.INTER_AREA))
    assert main(["suggest", str(odd)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "we\\nird.png: Small (480×320)" in out


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`irsde suggest FOLDER | head -1`: no traceback once head has its line."""
    import subprocess
    import sys

    from PIL import Image

    for i in range(40):
        Image.fromarray(np.full((16, 16, 3), 40 + i, np.uint8)).save(tmp_path / f"p{i:02d}.png")
    cmd = f"{sys.executable} -m irsde_gui.cli suggest {tmp_path} | head -1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
