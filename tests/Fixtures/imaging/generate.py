"""Generates the imaging test fixtures with Pillow (Debian bookworm python3-pil 9.4.0, numpy 1.24).

Run from this folder: python3 generate.py. Every file here is synthetic (no licence needed).
Pillow outputs are the reference the C# decoder and the Pillow-compatible resampler are tested against.
"""
import json
import numpy as np
from PIL import Image, ImageOps

rng = np.random.default_rng(1234)


def source(w, h):
    """Smooth gradients plus noise and a few hard edges: exercises ringing, clipping and rounding."""
    y, x = np.mgrid[0:h, 0:w]
    r = 255 * (x / max(w - 1, 1))
    g = 127 + 120 * np.sin(x / 3.0) * np.cos(y / 5.0)
    b = np.where((x // 7 + y // 5) % 2 == 0, 250, 5)
    img = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    img[h // 3: h // 3 + 4, :, :] = [255, 0, 255]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


manifest = {"pillow": Image.__version__, "resize": []}

src = source(61, 47)
Image.fromarray(src).save("src_61x47.png")
for (w, h) in [(28, 28), (56, 28), (140, 84), (61, 20), (13, 47), (200, 151), (30, 100)]:
    out = Image.fromarray(src).resize((w, h), Image.BICUBIC, reducing_gap=None)
    name = f"pil_bicubic_61x47_to_{w}x{h}.png"
    out.save(name)
    manifest["resize"].append({"source": "src_61x47.png", "file": name, "width": w, "height": h})

# Decoding: alpha is dropped by convert("RGB") (what HF's Qwen2-VL processor calls), not blended.
rgba = np.dstack([source(40, 30), np.tile(np.linspace(0, 255, 40).astype(np.uint8), (30, 1))])
rgba[:, :3, 3] = 0  # fully transparent pixels keep their colour in the file
Image.fromarray(rgba, "RGBA").save("rgba_40x30.png")
Image.fromarray(rgba, "RGBA").convert("RGB").save("rgba_40x30.expected.png")

gray = source(33, 21)[:, :, 1]
Image.fromarray(gray, "L").save("gray_33x21.png")
Image.fromarray(gray, "L").convert("RGB").save("gray_33x21.expected.png")

pal = Image.fromarray(source(32, 24)).quantize(colors=16)
pal.save("palette_32x24.png")
pal.convert("RGB").save("palette_32x24.expected.png")

Image.fromarray(source(36, 20)).save("lossless_36x20.webp", lossless=True)
Image.open("lossless_36x20.webp").convert("RGB").save("lossless_36x20.webp.expected.png")

# JPEG with EXIF orientation 6 (rotate 90 CW to display): stored 40 wide x 24 high, displayed 24 x 40.
jpg = Image.fromarray(source(40, 24))
exif = Image.Exif()
exif[0x0112] = 6
jpg.save("exif6_40x24.jpg", quality=95, exif=exif.tobytes())
ImageOps.exif_transpose(Image.open("exif6_40x24.jpg")).convert("RGB").save("exif6_40x24.expected.png")
Image.open("exif6_40x24.jpg").convert("RGB").save("exif6_40x24.raw.expected.png")

# All eight EXIF orientations (Pillow's exif_transpose is the reference).
for o in range(1, 9):
    exif = Image.Exif()
    exif[0x0112] = o
    jpg.save(f"exif{o}_40x24.jpg", quality=95, exif=exif.tobytes())
    ImageOps.exif_transpose(Image.open(f"exif{o}_40x24.jpg")).convert("RGB").save(f"exif{o}_40x24.expected.png")

# Plain RGB JPEG (decoder comparison with libjpeg in Pillow).
Image.fromarray(source(64, 48)).save("rgb_64x48.jpg", quality=90)
Image.open("rgb_64x48.jpg").convert("RGB").save("rgb_64x48.jpg.expected.png")

# CMYK JPEG (Pillow writes Adobe-marked inverted CMYK), and Pillow's own CMYK -> RGB conversion.
Image.fromarray(source(32, 32)).convert("CMYK").save("cmyk_32x32.jpg", quality=95)
Image.open("cmyk_32x32.jpg").convert("RGB").save("cmyk_32x32.jpg.expected.png")

# Corrupt: a PNG cut after 60 bytes; and bytes that are no image at all.
data = open("src_61x47.png", "rb").read()
open("truncated.png", "wb").write(data[:60])
open("not_an_image.png", "wb").write(b"this is not an image, just text pretending to be one\n" * 4)

json.dump(manifest, open("manifest.json", "w"), indent=1)
print("done", manifest["pillow"])
