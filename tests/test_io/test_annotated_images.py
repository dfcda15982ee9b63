from spinekey.io.annotated_images import locate_image, locate_images, unlisted_images


def test_file_names_are_found_as_given_or_without_leading_folders(tmp_path):
    for rel in ('images/a.png', 'images/p/x.png', 'images/q/x.png', 'images/other.png'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'x')
    folder = str(tmp_path / 'images')
    assert locate_image(folder, 'a.png') == f'{folder}/a.png'
    assert locate_image(folder, 'images/a.png') == f'{folder}/a.png'  # the folder is itself images/
    assert locate_image(folder, 'p/x.png') == f'{folder}/p/x.png'  # sub-folders respected
    assert locate_image(folder, 'q/x.png') == f'{folder}/q/x.png'
    assert locate_image(folder, 'gone.png') is None
    found, missing = locate_images([{'file_name': 'a.png'}, {'file_name': 'gone.png'}], folder)
    assert [p for _, p in found] == [f'{folder}/a.png'] and missing == [{'file_name': 'gone.png'}]
    assert unlisted_images(folder, [p for _, p in found]) == [f'{folder}/other.png']
