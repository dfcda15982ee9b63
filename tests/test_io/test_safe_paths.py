import os

import pytest

from spinekey.io.safe_paths import one_line, output_names, path_inside, safe_relpath
from spinekey.utils.errors import SpineKeyError


@pytest.mark.parametrize('name, expected', [
    ('../../x.png', 'x.png'),
    ('/etc/x.png', 'etc/x.png'),
    ('a/../../x.png', 'a/x.png'),
    ('C:\\films\\x.png', 'films/x.png'),
    ('new\nline.png', 'new_line.png'),
    ('nul\x00.png', 'nul_.png'),
    ('./sub/./x.png', 'sub/x.png'),
    ('..', 'unnamed'),
    ('', 'unnamed'),
])
def test_safe_relpath(name, expected):
    assert safe_relpath(name) == expected


def test_output_names_are_distinct_deterministic_and_keep_folders():
    names = ['p/x.png', 'q/x.png', '../../x.png', 'x.png', 'X.PNG', 'p/x.jpg']
    out = output_names(names, '.png')
    assert out == ['p/x.png', 'q/x.png', 'x.png', 'x~2.png', 'X~3.png', 'p/x~2.png']
    assert output_names(names, '.png') == out
    assert output_names(['p/x.png', 'q/x.png'], '.jpg', flat=True) == ['p__x.jpg', 'q__x.jpg']


def test_path_inside_refuses_what_leaves_the_folder(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    assert path_inside(str(out), 'a/b.png') == os.path.join(os.path.realpath(out), 'a', 'b.png')
    for rel in ('../x.png', '/etc/passwd', '.'):
        with pytest.raises(SpineKeyError, match='leaves the output folder'):
            path_inside(str(out), rel)
    (out / 'link').symlink_to(tmp_path)  # a folder link that points out
    with pytest.raises(SpineKeyError, match='leaves the output folder'):
        path_inside(str(out), 'link/x.png')


def test_one_line_escapes_control_characters():
    assert one_line('a\nb\x00c\td') == 'a\\nb\\x00c\\td'
