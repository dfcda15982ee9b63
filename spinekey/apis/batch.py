"""Which films a run covers, and how a run is shared between processes (torchrun, one or more machines)."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from spinekey.io.annotated_images import locate_images, unlisted_images
from spinekey.io.atomic import atomic_open
from spinekey.io.coco_files import load_coco_gt
from spinekey.io.images import list_images
from spinekey.io.safe_paths import one_line
from spinekey.utils.errors import SpineKeyError


@dataclass
class FilmSet:
    """The films of a run, in order: ``paths``, ``image_ids``, ``names`` (file names as results carry them)."""
    paths: List[str] = field(default_factory=list)
    image_ids: List[int] = field(default_factory=list)
    names: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)  # one line per listed film not found (skipped.txt)
    left_out: int = 0    # images of the folder that the COCO file does not list
    non_images: int = 0  # other files of the folder


def films_in_folder(folder: str, recursive: bool = False, skip_dirs=()) -> FilmSet:
    """Every image file of ``folder`` (``recursive``: and of its sub-folders, spinekey.io.images.list_images) in
    sorted order; ids are their indices, names their paths relative to ``folder`` (``PAT1/IM0001``: two
    patients' ``IM0001`` stay apart in results and outputs)."""
    paths, others = list_images(folder, recursive, skip_dirs)
    names = [osp.relpath(p, folder).replace(os.sep, '/') for p in paths]
    return FilmSet(paths, list(range(len(paths))), names, non_images=len(others))


def films_of_coco(ann_file: str, folder: str) -> FilmSet:
    """Exactly the films ``ann_file`` lists, found in ``folder`` by file name, with their COCO ids.

    Raises:
        SpineKeyError: none of the listed films is in ``folder``.
    """
    gt = load_coco_gt(ann_file)
    found, missing = locate_images(sorted(gt['images'], key=lambda im: im['id']), folder)
    if not found:
        raise SpineKeyError(f'{ann_file}: none of its {len(gt["images"])} images is in {folder} '
                            '(looked up by file_name; set --images-dir to the folder that holds them)')
    left_out = len(unlisted_images(folder, [p for _, p in found])) if osp.isdir(folder) else 0
    return FilmSet([p for _, p in found], [im['id'] for im, _ in found], [im['file_name'] for im, _ in found],
                   [one_line(f'{im["file_name"]}: listed in {ann_file} but not found in {folder}') for im in missing],
                   left_out=left_out)


def shard_info() -> Tuple[int, int]:
    """(rank, world size) under torchrun, starting the process group; (0, 1) otherwise."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world == 1:
        return 0, 1
    import torch
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group('nccl' if torch.cuda.is_available() else 'gloo')
    return dist.get_rank(), world


def gather(obj, world: int) -> list:
    """Every process's ``obj``; the process group is closed afterwards, because a gloo rank that exits with
    it still open aborts ("terminate called without an active exception") and fails the whole run."""
    if world == 1:
        return [obj]
    import torch.distributed as dist
    out = [None] * world
    dist.all_gather_object(out, obj)
    close_process_group()
    return out


def close_process_group() -> None:
    """Wait for every rank, then close the process group (when one is open): a gloo rank that exits with its
    group still open aborts and fails the whole run.

    Garbage is collected first: mmengine's Runner sits in reference cycles and its DDP-wrapped model holds the
    group's gloo backend, whose threads would otherwise outlive ``destroy_process_group`` and be torn down with
    the interpreter, which aborts a rank now and then. Callers drop their own references to a Runner first."""
    import gc

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


class FilmSpool:
    """Each film's detections as one compact JSON list in an anonymous temporary file, indexed by image id.

    Why: a 2,000-film run kept every detection as Python objects until results.json was written, and its
    memory grew with the run (about 70 KB a film at 40 detections); spooled, it stays flat.
    """

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile('w+b')
        self.index: Dict[int, Tuple[int, int]] = {}

    def add(self, image_id: int, detections: List[dict]) -> None:
        data = json.dumps(detections, separators=(',', ':')).encode()
        self.file.seek(0, os.SEEK_END)
        self.index[image_id] = (self.file.tell(), len(data))
        self.file.write(data)

    def text(self, image_id: int) -> str:
        offset, size = self.index[image_id]
        self.file.seek(offset)
        return self.file.read(size).decode()

    def texts(self) -> Dict[int, str]:
        """Every film's JSON text (to hand to rank 0 in a sharded run)."""
        return {i: self.text(i) for i in self.index}


def write_results(out: str, summary: Optional[str], films: FilmSet, text_of: Callable[[int], Optional[str]],
                  skipped_ids) -> int:
    """Stream results.json (the films' detections in film order, compact JSON) and summary.csv (one row per
    film: id, file, status, vertebra count, boxes and keypoints as JSON lists) one film at a time; returns
    the number of detections. Both files are written atomically."""
    count = 0
    summary_file = atomic_open(summary, 'w', encoding='utf-8', newline='') if summary else contextlib.nullcontext()
    with atomic_open(out, 'w', encoding='utf-8') as res, summary_file as csv_file:
        writer = csv.writer(csv_file) if summary else None
        if writer:
            writer.writerow(['image_id', 'file_name', 'status', 'num_vertebrae', 'boxes_xywh', 'keypoints'])
        res.write('[')
        for image_id, name in zip(films.image_ids, films.names):
            text = text_of(image_id) or '[]'
            dets = json.loads(text)
            if dets:
                res.write((',' if count else '') + text[1:-1])
                count += len(dets)
            if writer:
                writer.writerow([image_id, name, 'skipped' if image_id in skipped_ids else 'ok', len(dets),
                                 json.dumps([d['bbox'] for d in dets]),
                                 json.dumps([d.get('keypoints') for d in dets])])
        res.write(']')
    return count
