"""Broken and unusual image files, written on demand for the fault-injection tests."""
import os
import struct
import zlib

import cv2
import numpy as np


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height but has no pixel data at all."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    chunk = b'IHDR' + ihdr
    data = b'\x89PNG\r\n\x1a\n' + struct.pack('>I', len(ihdr)) + chunk + struct.pack('>I', zlib.crc32(chunk))
    with open(path, 'wb') as f:
        f.write(data)


def _exif_rotated_jpeg(path):
    """A 40x80 (w x h) JPEG stored sideways (80x40) with EXIF orientation 6 (rotate 90 deg clockwise)."""
    from PIL import Image
    stored = np.zeros((40, 80), np.uint8)
    stored[:, :10] = 255  # bright band at the stored left edge -> top edge once rotated
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(path, exif=exif.tobytes(), quality=95)


def write_image_faults(folder, good_image):
    """{name: expected} for each file written to ``folder``; expected is 'ok' or a phrase of the reason."""
    os.makedirs(folder, exist_ok=True)
    faults = {}
    ok_png = cv2.imencode('.png', good_image)[1].tobytes()
    ok_jpg = cv2.imencode('.jpg', good_image)[1].tobytes()
    open(os.path.join(folder, 'zero_bytes.png'), 'wb').close()
    faults['zero_bytes.png'] = 'empty (0 bytes)'
    with open(os.path.join(folder, 'truncated.jpg'), 'wb') as f:
        f.write(ok_jpg[:len(ok_jpg) // 2])
    faults['truncated.jpg'] = 'truncated'
    with open(os.path.join(folder, 'truncated.png'), 'wb') as f:
        f.write(ok_png[:len(ok_png) // 2])
    faults['truncated.png'] = 'truncated'
    with open(os.path.join(folder, 'text.png'), 'w') as f:
        f.write('this is not an image\n')
    faults['text.png'] = 'not a readable image'
    cv2.imwrite(os.path.join(folder, 'sixteen_bit.png'), (good_image[..., 0].astype(np.uint16) * 257))
    faults['sixteen_bit.png'] = 'ok'
    cv2.imwrite(os.path.join(folder, 'rgba.png'), cv2.cvtColor(good_image, cv2.COLOR_BGR2BGRA))
    faults['rgba.png'] = 'ok'
    cv2.imwrite(os.path.join(folder, 'gray.png'), good_image[..., 0])
    faults['gray.png'] = 'ok'
    cv2.imwrite(os.path.join(folder, 'one_pixel.png'), np.zeros((1, 1), np.uint8))
    faults['one_pixel.png'] = 'too small'
    _png_header_only(os.path.join(folder, 'huge_header.png'), 20000, 20000)
    faults['huge_header.png'] = 'too large'
    _exif_rotated_jpeg(os.path.join(folder, 'exif_rotated.jpg'))
    faults['exif_rotated.jpg'] = 'ok'
    return faults
