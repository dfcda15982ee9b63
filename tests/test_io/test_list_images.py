"""Which files of a folder are films: extensions, DICOM without one, exports nested in sub-folders, and what is
never a film (a DICOMDIR index, macOS '._' files, an earlier run's overlays)."""
import os

import pytest

from spinekey.apis.batch import films_in_folder
from spinekey.io.images import list_images

DICOM_BYTES = b'\0' * 128 + b'DICM' + b'\0' * 16  # the magic is all list_images looks at


@pytest.fixture
def export(tmp_path):
    root = tmp_path / 'films'
    files = {'b.JPG': b'x', 'a.png': b'x', 'IM0001': DICOM_BYTES, 'DICOMDIR': DICOM_BYTES, '._a.png': b'x',
             'notes.txt': b'x', 'PAT1/ST1/IM0001': DICOM_BYTES, 'PAT1/c.tif': b'x', '.cache/d.png': b'x',
             'old run/results.json': b'[]', 'old run/vis/a.png': b'x', 'overlays/a.png': b'x'}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_the_folder_itself_by_extension_or_dicom_magic(export):
    images, others = list_images(str(export))
    assert [os.path.basename(p) for p in images] == ['IM0001', 'a.png', 'b.JPG']  # sorted by name
    # hidden files (macOS '._', a run's own lock files) are neither films nor counted as skipped files
    assert sorted(os.path.basename(p) for p in others) == ['DICOMDIR', 'notes.txt']


def test_recursive_enters_sub_folders_but_not_outputs_or_hidden_ones(export):
    films = films_in_folder(str(export), recursive=True, skip_dirs=[str(export / 'overlays')])
    assert films.names == ['IM0001', 'a.png', 'b.JPG', 'PAT1/c.tif', 'PAT1/ST1/IM0001']
    assert films.image_ids == [0, 1, 2, 3, 4] and films.non_images == 2
    assert films.paths[-1] == os.path.join(str(export), 'PAT1', 'ST1', 'IM0001')
    # without skip_dirs, a plain folder of images is entered like any other
    assert 'overlays/a.png' in films_in_folder(str(export), recursive=True).names
