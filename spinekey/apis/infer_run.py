"""Run a model over a whole set of films (what ``tools/infer.py`` does, callable from Python): choose the films
(a folder, or exactly those a COCO file lists), share them between torchrun processes, run each process's
share through ``SpineKeyInferencer``, and write results.json / summary.csv / skipped.txt from rank 0.

What a user should hear (films left out, films skipped) comes back as lines for the caller to print.
"""
from __future__ import annotations

import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from spinekey.apis.batch import FilmSet, FilmSpool, films_in_folder, films_of_coco, gather, shard_info, write_results
from spinekey.io.atomic import atomic_write_text
from spinekey.io.images import list_images
from spinekey.io.safe_paths import one_line, output_names, path_inside
from spinekey.utils.errors import SpineKeyError


@dataclass
class InferSummary:
    """What a run wrote (rank 0): detection and film counts, skipped films (unreadable) and missing ones (listed
    by the COCO file, not in the folder)."""
    n_results: int
    n_films: int
    skipped: Dict[int, str] = field(default_factory=dict)
    missing: List[str] = field(default_factory=list)
    world: int = 1


def collect_films(images_dir: Optional[str], ann_file: Optional[str] = None, recursive: bool = False,
                  skip_dirs: Sequence[str] = ()) -> Tuple[FilmSet, List[str]]:
    """(the films to run, lines saying what was left out). Without ``ann_file`` every film of ``images_dir``
    (``recursive``: its sub-folders too; ``skip_dirs``: the run's own output folders); with it exactly the films
    it lists, found in ``images_dir``.

    Raises:
        SpineKeyError: a folder whose films all sit in sub-folders (without ``recursive``), or none found.
    """
    notes = []
    if not ann_file:
        films = films_in_folder(images_dir, recursive, skip_dirs=skip_dirs)
        if films.non_images:
            notes.append(f'skipping {films.non_images} non-image file(s) in {images_dir}')
        if not recursive:
            nested = len(list_images(images_dir, recursive=True, skip_dirs=skip_dirs)[0]) - len(films.paths)
            if nested and not films.paths:
                raise SpineKeyError(f'{images_dir}: no images in the folder itself, {nested} in its sub-folders '
                                    '(pass --recursive to run them; inference.sh: --recursive)')
            if nested:
                notes.append(f'note: running the {len(films.paths)} film(s) in {images_dir} itself; {nested} more sit '
                             'in its sub-folders and are not run (pass --recursive to run them too)')
        return films, notes
    folder = images_dir or '.'
    if recursive:
        notes.append(f'note: --recursive has no effect with --ann-file (its file_names say where each film is in '
                     f'{folder})')
    films = films_of_coco(ann_file, folder)
    if films.missing:
        notes.append(f'warning: {len(films.missing)} image(s) listed in {ann_file} are not in {folder} (listed in '
                     f'skipped.txt), e.g. {films.missing[0].split(": listed in")[0]}')
    if films.left_out:
        notes.append(f'left out {films.left_out} image(s) of {folder} that {ann_file} does not list; '
                     f'running on the {len(films.paths)} it lists')
    return films, notes


def shard_device(device: str) -> str:
    """Under torchrun each process takes its own GPU (cuda:LOCAL_RANK); otherwise ``device`` as given."""
    if int(os.environ.get('WORLD_SIZE', '1')) > 1 and device.startswith('cuda'):
        return f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return device


def infer_shard(inferencer, paths, ids, names, skip_bad_images: bool = False, vis_dir: Optional[str] = None,
                vis_names: Optional[Sequence[str]] = None, on_skip: Optional[Callable[[str], None]] = None
                ) -> Tuple[FilmSpool, Dict[int, str]]:
    """These films through ``inferencer`` (a SpineKeyInferencer): (spooled detections, image_id -> why it was
    skipped). An unreadable film stops the run unless ``skip_bad_images``; overlays go to ``vis_dir``."""
    from spinekey.structures.keypoint_names import skeleton_for
    from spinekey.visualization import save_overlay
    skeleton = skeleton_for(len(inferencer.keypoint_names))
    vis_name_of = dict(zip(ids, vis_names or ()))
    spool, skipped = FilmSpool(), {}
    for film in tqdm(inferencer.iter(paths, ids, names), total=len(paths), desc='inference', unit='img',
                     file=sys.stderr):
        if not film.ok:
            if not skip_bad_images:
                raise SpineKeyError(film.error + ' (use --skip-bad-images to go on without it)')
            skipped[film.image_id] = one_line(film.error)
            if on_skip:
                on_skip(skipped[film.image_id])
            continue
        spool.add(film.image_id, film.detections)
        if vis_dir:
            save_overlay(film.path, film.detections, path_inside(vis_dir, vis_name_of[film.image_id]),
                         skeleton=skeleton)
    return spool, skipped


def infer_run(make_inferencer: Callable[[], object], films: FilmSet, out: str, summary_csv: Optional[str] = None,
              skip_bad_images: bool = False, vis_dir: Optional[str] = None,
              on_skip: Optional[Callable[[str], None]] = None) -> Optional[InferSummary]:
    """Run ``films`` and write ``out`` (results.json), ``summary_csv`` and skipped.txt beside ``out``; under
    torchrun each process runs every world-th film (round-robin) and rank 0 writes everything in film order.
    Returns the summary on rank 0, None on the other ranks. ``make_inferencer`` builds this process's
    SpineKeyInferencer (after the process group is up)."""
    if not films.paths:
        raise SpineKeyError('no images to run on')
    rank, world = shard_info()
    shard = slice(rank, None, world)
    vis_names = output_names(films.names, '.png')  # the same on every process: the full list, in order
    spool, skipped = infer_shard(make_inferencer(), films.paths[shard], films.image_ids[shard], films.names[shard],
                                 skip_bad_images, vis_dir, vis_names[shard], on_skip)
    texts = {}
    if world > 1:  # the other processes' films come to rank 0 as JSON text (compact, and only at the end)
        parts = gather((spool.texts() if rank else {}, skipped), world)
        if rank != 0:
            return None
        for part_texts, part_skipped in parts[1:]:
            texts.update(part_texts)
            skipped.update(part_skipped)
    n_results = write_results(out, summary_csv, films, lambda i: spool.text(i) if i in spool.index else texts.get(i),
                              set(skipped))
    if skipped or films.missing:
        messages = films.missing + [skipped[i] for i in films.image_ids if i in skipped]
        atomic_write_text(osp.join(osp.dirname(osp.abspath(out)), 'skipped.txt'), '\n'.join(messages) + '\n')
    return InferSummary(n_results, len(films.paths) - len(skipped), skipped, films.missing, world)
