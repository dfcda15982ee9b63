"""Stage 2 on a film: each detected vertebra's keypoints re-placed by the refiner on its own full-resolution,
oriented patch, with a learned uncertainty (spinekey.models.refiner).

``Refiner(config, checkpoint)`` loads the model through the safe loader; ``refine_detections(film, dets,
names)`` changes results.json entries in place: ``keypoints`` become the refined ones (the stage-1 scores kept,
so QC thresholds keep their meaning), ``keypoints_stage1`` keeps stage 1's, ``keypoint_unc`` is the learned
standard deviation (film pixels, per keypoint); with ``blend`` both are stage 1's and the refiner's combined.
``tools/refine.py`` applies it to saved results, ``SpineKeyInferencer(refine_config=..., refine_checkpoint=...)``
after stage 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch

from spinekey.datasets.patch_geometry import cut_patch, mirror_frame, vertebra_frame
from spinekey.io.checkpoint import checkpoint_dataset_meta, load_model_weights
from spinekey.apis.missed_levels import MissedLevels, place_missed_levels
from spinekey.apis.model_configs import build_model, model_config
from spinekey.utils.errors import SpineKeyError


def blend_keypoints(stage1: np.ndarray, stage1_unc: Optional[np.ndarray], refined: np.ndarray,
                    refined_unc: np.ndarray, blend: Union[str, float]):
    """(keypoints (N, K, 2), uncertainty (N, K)) of stage 1's and the refiner's keypoints combined.

    The two stages see a vertebra at different resolutions and err partly independently, so their mean can beat
    either (as stage 1's rotation test does; docs/aasce.md, "Splitting the error"). ``blend``: a weight on the
    refiner in [0, 1], or ``'ivw'``: each keypoint weighted by the inverse of its stage's variance (the stage
    surer of a corner moves it more). Uncertainties (N, K) are each keypoint's 1-sd in film pixels; the result's
    treats the two errors as independent (the conformal calibration, fitted on blended output, sets the promise).
    """
    s1, ref = np.asarray(stage1, float), np.asarray(refined, float)
    u2 = np.asarray(refined_unc, float)
    if blend == 'ivw':
        if stage1_unc is None:
            raise SpineKeyError("refine blend='ivw' needs stage 1's keypoint_unc (results of a model from before "
                                'it have none): give a weight instead, e.g. 0.5')
        v1, v2 = np.asarray(stage1_unc, float) ** 2, u2 ** 2
        total = v1 + v2
        w = np.divide(v1, total, out=np.full_like(total, 0.5), where=total > 0)
        unc = np.sqrt(np.divide(v1 * v2, total, out=np.zeros_like(total), where=total > 0))
        unknown = ~np.isfinite(v1)  # a keypoint stage 1 gave no uncertainty for: halfway, the refiner's unc
        w, unc = np.where(unknown, 0.5, w), np.where(unknown, u2, unc)
    else:
        w = np.full(u2.shape, float(blend))
        u1 = u2 if stage1_unc is None else np.asarray(stage1_unc, float)
        unc = np.sqrt((w * u2) ** 2 + ((1 - w) * u1) ** 2)
    return (1 - w)[..., None] * s1 + w[..., None] * ref, unc


def _stage1_unc(detections: List[dict], k: int) -> Optional[np.ndarray]:
    """(N, K) stage-1 keypoint uncertainties of results.json entries, NaN where an entry or a value is missing
    (null in JSON); None when no entry has any."""
    rows = [d.get('keypoint_unc') for d in detections]
    if not any(rows):
        return None
    return np.array([[np.nan if x is None else float(x) for x in r] if r and len(r) == k else [np.nan] * k
                     for r in rows], float)


def check_blend(blend) -> Optional[Union[str, float]]:
    """None (off), 'ivw', or a weight on the refiner in [0, 1]; one clear line otherwise."""
    if blend is None or blend == 'ivw':
        return blend
    try:
        weight = float(blend)
    except (TypeError, ValueError):
        weight = float('nan')
    if not 0.0 <= weight <= 1.0:
        raise SpineKeyError(f"refiner blend must be 'ivw' or a weight on the refiner in [0, 1], got {blend!r}")
    return weight


class Refiner:
    """The refiner of ``config`` with the weights of ``checkpoint`` (K and keypoint names from its meta).

    ``passes``: refine again on the refined corners (None: the config's ``refine.passes``, default 1).
    ``rotate_test``: degrees; each patch also cut turned by + and - this much, the corners averaged (None: the
    config's ``refine.rotate_test``, default 0: off).
    ``flip_test``: each patch also cut mirrored left-right, its corners brought back and swapped by name, then
    averaged in (None: the config's ``refine.flip_test``, default off).
    ``blend``: combine the refined keypoints with stage 1's (:func:`blend_keypoints`: 'ivw' or a weight on the
    refiner; None: the config's ``refine.blend``, default off).
    ``fill_missed``: also place the levels stage 1 missed inside the column (spinekey.apis.missed_levels: True,
    False or a dict of MissedLevels' fields; None: the config's ``refine.fill_missed``, default off).
    ``batch_size``: patches per forward pass (None: 4 on a CPU, 64 on a GPU). On a CPU small batches in
    channels-last layout are both faster and leaner: one AASCE film's 16 patches took 0.11 s in batches of 4
    against 0.27 s in one batch, and the refiner no longer doubles a film's peak memory (docs/performance.md).
    """

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu', passes: Optional[int] = None,
                 batch_size: Optional[int] = None, rotate_test: Optional[float] = None, blend=None,
                 flip_test: Optional[bool] = None, fill_missed=None):
        cfg = model_config(config, 'VertebraRefiner', 'a refiner', '; give the stage-2 config, e.g. '
                           'configs/refiner/refiner_lite0-integral_p192_5e_aasce_cpu.py')
        meta = checkpoint_dataset_meta(checkpoint)
        self.keypoint_names: List[str] = list(meta.get('keypoint_names') or [])
        if not self.keypoint_names:
            raise SpineKeyError(f'{checkpoint}: no keypoint names in the checkpoint; not a refiner checkpoint')
        cfg.model.num_keypoints = len(self.keypoint_names)
        cfg.model.backbone.pretrained = False  # the checkpoint holds every weight
        self.model = build_model(cfg)
        load_model_weights(self.model, checkpoint)
        self.model.to(device).eval()
        self.device = device
        on_cpu = torch.device(device).type == 'cpu'
        if on_cpu:
            self.model.to(memory_format=torch.channels_last)
        frame = cfg.get('refine', {})
        self.patch_size = int(frame.get('patch_size', 128))
        self.context = float(frame.get('context', 1.8))
        self.oriented = bool(frame.get('oriented', True))
        self.passes = int(frame.get('passes', 1) if passes is None else passes)
        if self.passes < 1:
            raise SpineKeyError(f'refiner passes must be 1 or more, got {self.passes}')
        degrees = float(frame.get('rotate_test', 0.0) if rotate_test is None else rotate_test)
        turns = (0.0, degrees, -degrees) if degrees else (0.0,)
        self.flip_perm = None
        if bool(frame.get('flip_test', False) if flip_test is None else flip_test):
            from spinekey.apis.flip_tta import flip_perm_for
            self.flip_perm = flip_perm_for(self.keypoint_names)
        # every view of a patch: (turn in degrees, mirrored)
        self.views = [(t, False) for t in turns] + ([(t, True) for t in turns] if self.flip_perm is not None else [])
        self.blend = check_blend(frame.get('blend') if blend is None else blend)
        self.fill_missed = MissedLevels.from_setting(frame.get('fill_missed') if fill_missed is None else fill_missed)
        self.batch_size = int(batch_size) if batch_size is not None else (4 if on_cpu else 64)
        if self.batch_size < 1:
            raise SpineKeyError(f'refiner batch size must be 1 or more, got {batch_size}')
        # interval factors fitted on this refiner's output (its uncertainty, not stage 1's): the inferencer's
        # ranges come from its conformal = dict(...) when it refines (spinekey.apis.inferencer)
        self.cfg = cfg

    def order_for(self, names: Sequence[str]) -> List[int]:
        """Index of each refiner keypoint in a stage-1 keypoint list named ``names``.

        Raises:
            SpineKeyError: the two models name different keypoints (another K, or other names).
        """
        if sorted(names) != sorted(self.keypoint_names):
            raise SpineKeyError(f'the refiner was trained for keypoints {self.keypoint_names}, stage 1 gives '
                                f'{list(names)}: use a refiner trained on the same keypoint set')
        return [list(names).index(n) for n in self.keypoint_names]

    def refine(self, film: np.ndarray, keypoints: np.ndarray, passes: Optional[int] = None):
        """(keypoints (N, K, 2), sd (N, K, 2)) in film pixels, refiner keypoint order, from stage-1 keypoints
        (N, K, 2) in the same order; a grayscale film (H, W) at native resolution. ``passes``: None, this
        refiner's."""
        current = np.asarray(keypoints, np.float64).reshape(len(keypoints), -1, 2)
        sd = np.zeros_like(current)
        for _ in range(self.passes if passes is None else passes):
            current, sd = self._one_pass(film, current)
        return current, sd

    def refine_named(self, film: np.ndarray, keypoints: np.ndarray, names: Sequence[str],
                     passes: Optional[int] = None):
        """(keypoints (N, K, 2), their 1-sd (N, K)) in film pixels and in ``names`` order, from keypoints (N, K, 2)
        in that order: :meth:`refine` with the keypoints matched to the refiner's by name."""
        order = self.order_for(names)
        back = np.argsort(order)
        refined, sd = self.refine(film, np.asarray(keypoints, float)[:, order], passes)
        return refined[:, back], np.sqrt(np.mean(sd[:, back] ** 2, axis=-1))

    def refine_keypoints(self, film: np.ndarray, keypoints: np.ndarray, stage1_unc: Optional[np.ndarray],
                         names: Sequence[str]):
        """(keypoints (N, K, 2), 1-sd (N, K)) in film pixels and ``names`` order: stage 1's keypoints (N, K, 2) and
        their uncertainty (N, K; None, or NaN where stage 1 gave none) refined (:meth:`refine_named`) and, when this
        refiner blends, combined with stage 1's (:func:`blend_keypoints`). The one step from stage 1's corners to
        the shipped ones, for results.json entries (:meth:`refine_detections`) and for mmdet's test loop
        (spinekey.apis.refined_test_loop)."""
        refined, unc = self.refine_named(film, keypoints, names)
        if self.blend is not None:
            refined, unc = blend_keypoints(keypoints, stage1_unc, refined, unc, self.blend)
        return refined, unc

    def _one_pass(self, film: np.ndarray, keypoints: np.ndarray):
        """Each vertebra refined once per view of its patch (``views``: 0 and +-rotate_test degrees, each also
        mirrored with the flip test); the views' film-space corners averaged, their spread added to the learned
        sd (as stage 1's test-time passes do)."""
        runs = [self._one_view(film, keypoints, turn, mirrored) for turn, mirrored in self.views]
        kps = np.stack([r[0] for r in runs])
        mean = kps.mean(0)
        sd = np.sqrt(np.mean([r[1] ** 2 for r in runs], 0) + ((kps - mean) ** 2).mean(0))
        return mean, sd

    def _one_view(self, film: np.ndarray, keypoints: np.ndarray, turn: float, mirrored: bool):
        frames = [vertebra_frame(kp, self.keypoint_names, self.patch_size, self.context, self.oriented,
                                 extra_deg=turn) for kp in keypoints]
        if mirrored:
            frames = [mirror_frame(f) for f in frames]
        out_kp, out_sd = np.zeros_like(keypoints), np.zeros_like(keypoints)
        for start in range(0, len(frames), self.batch_size):
            chunk = frames[start:start + self.batch_size]
            patches = torch.from_numpy(np.stack([cut_patch(film, f) for f in chunk])[:, None]).to(self.device)
            with torch.inference_mode():
                pred = self.model.predict_patches(patches)
            kps, sds = pred['keypoints'].cpu().double().numpy(), pred['sd'].cpu().double().numpy()
            if mirrored:  # the mirrored patch's "left" corner is the film's right one
                kps, sds = kps[:, self.flip_perm], sds[:, self.flip_perm]
            for j, frame in enumerate(chunk):
                out_kp[start + j] = frame.to_film(kps[j])
                out_sd[start + j] = sds[j] / frame.scale
        h, w = film.shape[:2]
        out_kp[..., 0] = np.clip(out_kp[..., 0], 0, w - 1)  # a vertebra at the edge: corners stay on the film
        out_kp[..., 1] = np.clip(out_kp[..., 1], 0, h - 1)
        return out_kp, out_sd

    def refine_detections(self, film: np.ndarray, detections: List[dict], names: Sequence[str]) -> List[dict]:
        """Refine results.json ``detections`` of one film (keypoints in ``names`` order) in place; returns the
        entries of the missed levels it placed (``fill_missed``; none when off), for the caller to add."""
        usable = [d for d in detections if d.get('keypoints') and
                  np.all(np.isfinite(np.asarray(d['keypoints'], float)))]
        if not usable:
            return []
        stage1 = np.stack([np.asarray(d['keypoints'], float).reshape(-1, 3) for d in usable])
        refined, unc = self.refine_keypoints(film, stage1[..., :2], _stage1_unc(usable, stage1.shape[1]), names)
        for d, s1, kp, u in zip(usable, stage1, refined, unc):
            d['keypoints_stage1'] = [round(float(v), 2) for v in s1.reshape(-1)]
            d['keypoints'] = [round(float(v), 2) for p, s in zip(kp, s1[:, 2]) for v in (*p, s)]
            d['keypoint_unc'] = [round(float(x), 3) for x in u]
        if self.fill_missed is None:
            return []
        return place_missed_levels(self, film, usable, names, self.fill_missed)


def refine_results(refiner: Refiner, results: List[dict], images_dir: str, names: Sequence[str],
                   score_thr: float = 0.0, progress=None) -> List[str]:
    """Refine saved results.json entries in place, film by film (each film read once at native resolution); the
    levels the refiner places where stage 1 missed one (``refiner.fill_missed``) are appended to ``results``.

    Entries below ``score_thr`` keep stage 1's keypoints. Returns one line per film that could not be read
    (those keep stage 1's keypoints too). ``progress``: wraps the film iterator (a tqdm bar).
    """
    from spinekey.io.annotated_images import locate_image
    from spinekey.io.images import read_gray
    refiner.order_for(names)  # another keypoint set: one line before any film is read
    by_film = {}
    for r in results:
        if r.get('score', 0) >= score_thr and r.get('keypoints'):
            by_film.setdefault((r['image_id'], r.get('file_name', '')), []).append(r)
    skipped = []
    films = list(by_film.items())
    for (image_id, file_name), dets in (progress(films) if progress else films):
        path = locate_image(images_dir, file_name) if file_name else None
        if path is None:
            skipped.append(f'image {image_id} {file_name!r}: not found in {images_dir}; stage-1 keypoints kept')
            continue
        try:
            film = read_gray(path)
        except SpineKeyError as err:
            skipped.append(f'{err}; stage-1 keypoints kept')
            continue
        results.extend(refiner.refine_detections(film, dets, names))
    return skipped


@dataclass
class RefineRun:
    refined: int          # detections whose keypoints the refiner re-placed (placed missed levels included)
    total: int            # detections in the file (placed missed levels included)
    skipped: List[str]    # films not refined, with why
    passes: int
    filled: int = 0       # missed levels the refiner placed (refiner.fill_missed)


def refine_results_file(make_refiner: Callable[[], Refiner], results_path: str, out: str, images_dir: str,
                        keypoint_names: Optional[Sequence[str]] = None, score_thr: float = 0.0,
                        progress=None) -> 'RefineRun':
    """tools/refine.py as one call: ``results_path`` refined (``refine_results``) and written to ``out``.
    Keypoint names: ``keypoint_names``, else the default set for K. ``make_refiner`` is called once the results
    are read (a bad file is one line before any weights load)."""
    from spinekey.io.atomic import atomic_write_json
    from spinekey.io.coco_files import load_results
    from spinekey.structures.results import resolve_keypoint_names
    results = load_results(results_path)
    with_kps = [r for r in results if r.get('keypoints')]
    if not with_kps:
        raise SpineKeyError(f'{results_path}: no detection with keypoints to refine')
    try:
        names = resolve_keypoint_names(len(with_kps[0]['keypoints']) // 3, keypoint_names)
    except ValueError as err:
        raise SpineKeyError(f'{results_path}: {err}') from None
    refiner = make_refiner()
    skipped = refine_results(refiner, results, images_dir, names, score_thr, progress)
    atomic_write_json(out, results)
    return RefineRun(sum('keypoints_stage1' in r for r in results), len(results), skipped, refiner.passes,
                     sum(bool(r.get('filled')) for r in results))
