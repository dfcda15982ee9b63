"""``SpineKeyInferencer``: one object that runs films through detection, keypoints and measurements.

The Python face of what ``inference.sh`` does, after mmdet's ``DetInferencer`` and detectron2's
``DefaultPredictor``: give it a path (PNG/JPEG/DICOM), an array, a list of them or a folder, get back one
``Film`` record per film. ``tools/infer.py`` runs its films through the same object.

    from spinekey.apis import SpineKeyInferencer
    sk = SpineKeyInferencer('configs/spinekey/spinekey_demo_cpu.py', 'work_dirs/demo/epoch_8.pth')
    film = sk('scan.dcm')       # film.detections, film.keypoints, film.vertebrae (levels, heights, grades),
                                # film.image (Cobb, lordosis), film.error for a film that could not be read
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np

from spinekey.apis.batch import films_in_folder
from spinekey.apis.flip_tta import flip_perm_for
from spinekey.apis.inference import init_model, iter_predictions
from spinekey.apis.measuring import calibration_of, film_defaults_of, measure_film, model_input_scale
from spinekey.apis.rotate_tta import rotation_test_angles
from spinekey.measurement.end_completion import check_end_completion
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.qc import detection_qc
from spinekey.structures.results import (DEFAULT_SCORE_THR, instances_to_coco, resolve_keypoint_names,
                                          vertebra_from_result)
from spinekey.structures.vertebra import ImageInput
from spinekey.utils.errors import SpineKeyError

FilmInput = Union[str, os.PathLike, np.ndarray]


@dataclass
class Film:
    """One film through SpineKey.

    ``detections``: results.json entries (bbox [x, y, w, h], score, RLE segmentation, keypoints [x, y, s]*K in
    ``keypoint_names`` order, film pixels). ``vertebrae``: measurements.csv rows in spine order (level,
    heights, ratios, Genant and Meyerding grades); ``image``: the images.csv row (Cobb angle and its end
    vertebrae, lordosis, notes). Both are empty when measuring is off. ``error``: why the film could not be
    read (then everything else is empty).
    """
    image_id: int
    file_name: str
    path: Optional[str]
    keypoint_names: List[str]
    height: Optional[int] = None
    width: Optional[int] = None
    detections: List[dict] = field(default_factory=list)
    vertebrae: List[dict] = field(default_factory=list)
    image: dict = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def keypoints(self) -> np.ndarray:
        """(N, K, 2) keypoints of the detections, in film pixels."""
        flat = [d['keypoints'] for d in self.detections if d.get('keypoints')]
        return np.asarray(flat, float).reshape(len(flat), -1, 3)[..., :2] if flat else np.zeros((0, 0, 2))


class SpineKeyInferencer:
    """Build the model of ``config`` with the weights of ``checkpoint`` (K, classes and keypoint names from
    the checkpoint) and run films through it.

    Args:
        device: 'cpu' or 'cuda:N'. score_thr: detections below it are dropped.
        measure: measure each film (True, or MeasureOptions; False for detection and keypoints only).
        batch_size / num_workers: films per forward pass / background readers.
        flip_test: also run each film mirrored and average the keypoints (spinekey.apis.flip_tta; twice the
            cost, a better corner and an uncertainty from the two passes' disagreement). None: the config's
            ``flip_test`` (False when it has none).
        rotate_test: degrees; also run each film turned by + and - this much and average the keypoints
            (spinekey.apis.rotate_tta; three times the cost, a better Cobb angle on real films). None: the
            config's ``rotate_test`` (0, off, when it has none).
        fp16: backbone and neck in half precision on a GPU, boxes and corners still decoded in float32
            (spinekey.apis.precision); refused on CPU, where it is slower.
        refine_config / refine_checkpoint: the stage-2 refiner (spinekey.apis.refine): every detection's
            keypoints re-placed on its own full-resolution patch after stage 1 (and its test passes); results
            keep stage 1's as ``keypoints_stage1`` and the learned ``keypoint_unc``. refine_passes: how many
            times (None: the refiner config's).

    With ``measure=MeasureOptions(end_completion=EndCompletion(faint_thr=0.05))`` a column short of 17 levels is
    completed at its ends by a faint detection (spinekey.measurement.end_completion, what ``make aasce``
    measures with): each film's detections are then kept down to ``faint_thr`` (and refined), those under
    ``score_thr`` used only for that, as ``tools/infer.py --score-thr 0.05`` then ``tools/measure.py
    --complete-ends 0.05`` do.
    """

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu', score_thr: float = DEFAULT_SCORE_THR,
                 measure: Union[bool, MeasureOptions] = True, batch_size: int = 1, num_workers: int = 0,
                 cfg_options=None, flip_test: Optional[bool] = None, fp16: bool = False,
                 rotate_test: Optional[float] = None, refine_config: Optional[str] = None,
                 refine_checkpoint: Optional[str] = None, refine_passes: Optional[int] = None) -> None:
        if fp16:
            from spinekey.apis.precision import check_half_device
            check_half_device(device)
        self.fp16 = fp16
        self.measure = MeasureOptions() if measure is True else (measure or None)
        completion = self.measure.end_completion if self.measure is not None else None
        if completion is not None:
            check_end_completion(self.measure, score_thr)  # before the model is built: a bad option, one line
        self.model = init_model(config, checkpoint, device=device, cfg_options=cfg_options)
        self.score_thr = score_thr
        # end completion needs the faint detections too: written down to its threshold, measured apart
        self.faint_thr = completion.faint_thr if completion is not None else None
        self.batch_size, self.num_workers = batch_size, num_workers
        head = getattr(self.model.roi_head, 'keypoint_head', None)
        try:
            names = resolve_keypoint_names(head.num_keypoints, self.model.dataset_meta.get('keypoint_names')) \
                if head is not None else []
        except ValueError as err:  # names in the checkpoint that do not fit its head
            raise SpineKeyError(f'{checkpoint}: {err}') from None
        self.keypoint_names = names
        from spinekey.measurement.qc import QCThresholds
        try:
            self.qc = QCThresholds.from_config(self.model.cfg.get('qc'))
        except ValueError as err:
            raise SpineKeyError(f'{config}: {err}') from None
        if self.measure is not None and self.measure.qc is None:
            self.measure = replace(self.measure, qc=self.qc)
        if self.measure is not None and self.measure.input_scale is None:
            self.measure = replace(self.measure, input_scale=model_input_scale(self.model.cfg))
        if self.measure is not None:
            self.measure = film_defaults_of(self.model.cfg, config, self.measure)
        self.flip_test = bool(self.model.cfg.get('flip_test', False) if flip_test is None else flip_test)
        self._flip_perm = flip_perm_for(self.keypoint_names) if self.flip_test and names else None
        degrees = self.model.cfg.get('rotate_test', 0.0) if rotate_test is None else rotate_test
        try:
            self._rotations = rotation_test_angles(degrees) if names else ()
        except ValueError as err:
            raise SpineKeyError(f'{config}: {err}' if rotate_test is None else str(err)) from None
        self.rotate_test = float(degrees or 0.0)
        self.refiner = None
        if bool(refine_config) != bool(refine_checkpoint):
            raise SpineKeyError('the refiner needs both its config and its checkpoint (refine_config, '
                                'refine_checkpoint)')
        if refine_config:
            from spinekey.apis.refine import Refiner
            self.refiner = Refiner(refine_config, refine_checkpoint, device=device, passes=refine_passes)
            self.refiner.order_for(self.keypoint_names)  # another keypoint set: one line now, not per film
        if self.measure is not None and self.measure.calibration is None:
            # the ranges are calibrated on the uncertainty the film's corners come with: the refiner's when it
            # refines (its config's conformal; none: 'uncalibrated'), never stage 1's factors on refined corners
            cfg, source = (self.refiner.cfg, refine_config) if self.refiner else (self.model.cfg, config)
            self.measure = replace(self.measure, calibration=calibration_of(cfg, source, len(self.keypoint_names)))

    def __call__(self, inputs: Union[FilmInput, Sequence[FilmInput]],
                 recursive: bool = False) -> Union[Film, List[Film]]:
        """A Film for one input, a list of Films for a list or a folder (its films in name order, named by
        their paths inside it; ``recursive``: its sub-folders too, spinekey.apis.batch.films_in_folder). A bad
        film gives a Film with ``error``."""
        if isinstance(inputs, (str, os.PathLike)) and os.path.isdir(inputs):
            films = films_in_folder(os.fspath(inputs), recursive)
            return list(self.iter(films.paths, films.image_ids, films.names))
        if isinstance(inputs, (str, os.PathLike, np.ndarray)):
            return next(self.iter([inputs]))
        return list(self.iter(inputs))

    def iter(self, inputs: Sequence[FilmInput], image_ids: Optional[Sequence[int]] = None,
             names: Optional[Sequence[str]] = None) -> Iterator[Film]:
        """Films in input order, as they are done (for long runs and progress bars)."""
        inputs = list(inputs)
        image_ids = list(image_ids) if image_ids is not None else list(range(len(inputs)))
        names = list(names) if names is not None else [_name_of(x, i) for i, x in enumerate(inputs)]
        name_of = dict(zip(image_ids, names))
        stream = iter_predictions(self.model, inputs, image_ids, batch_size=self.batch_size,
                                  num_workers=self.num_workers, flip_perm=self._flip_perm, fp16=self.fp16,
                                  rotations=self._rotations)
        for i, (item, sample) in enumerate(stream):
            film = Film(item['image_id'], name_of[item['image_id']], item.get('path'), self.keypoint_names)
            if sample is None:
                film.error = item['error']
                yield film
                continue
            film.height, film.width = (int(v) for v in item['ori_shape'])
            film.detections = instances_to_coco(sample.pred_instances, film.image_id, film.file_name,
                                                self.score_thr if self.faint_thr is None else self.faint_thr)
            if self.refiner is not None and film.detections:
                film.detections += self.refiner.refine_detections(_gray_film(inputs[i], film.path),
                                                                  film.detections, self.keypoint_names)
            if self.keypoint_names:
                vertebrae = [vertebra_from_result(d, self.keypoint_names) for d in film.detections]
                for det, (status, reasons) in zip(film.detections, detection_qc(vertebrae, self.qc)):
                    det['qc_status'], det['qc_reasons'] = status, reasons
                if self.measure is not None:
                    self._measure(film, inputs[i], vertebrae)
            yield film

    def _measure(self, film: Film, source: FilmInput, vertebrae) -> None:
        """Measure the film's vertebrae (one per detection, in detection order) above the score threshold; with
        end completion, those scoring in [its faint threshold, the score threshold) may complete a short column."""
        kept = [v for d, v in zip(film.detections, vertebrae) if d['score'] >= self.score_thr]
        faint = [v for d, v in zip(film.detections, vertebrae)
                 if d['score'] < self.score_thr] if self.faint_thr is not None else []
        im = ImageInput(film.image_id, film.file_name, film.width, film.height, vertebrae=kept,
                        dropped=len(vertebrae) - len(kept), faint=faint)
        gray = None
        if isinstance(source, np.ndarray):
            import cv2

            from spinekey.io.images import to_bgr8
            gray = cv2.cvtColor(to_bgr8(source), cv2.COLOR_BGR2GRAY)
        measured = measure_film(im, self.measure, film.path, gray=gray, source=film.file_name)
        film.vertebrae, film.image = measured.vertebrae, measured.image


def _gray_film(source: FilmInput, path: Optional[str]) -> np.ndarray:
    """The film at its native resolution in grayscale, for the refiner's patches."""
    if isinstance(source, np.ndarray):
        import cv2

        from spinekey.io.images import to_bgr8
        return cv2.cvtColor(to_bgr8(source), cv2.COLOR_BGR2GRAY)
    from spinekey.io.images import read_gray
    return read_gray(path or os.fspath(source))


def _name_of(item: FilmInput, index: int) -> str:
    return os.path.basename(os.fspath(item)) if not isinstance(item, np.ndarray) else f'array_{index}.png'
