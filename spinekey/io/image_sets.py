"""Results and ground truth that cover different images: say so with both counts, or keep the common ones."""
from __future__ import annotations

from typing import List, Tuple

from spinekey.utils.errors import SpineKeyError

FIX_HINT = ('run inference on the annotated images only (inference.sh --anns_path, tools/infer.py --ann-file), '
            'or pass --common-images to evaluate the images both cover')


def check_ids_name_the_same_films(gt: dict, results: List[dict], gt_path: str, results_path: str) -> None:
    """Raise when results and ground truth give one film different image ids (results numbered 0-5 by
    tools/infer.py, the dataset's ids 1-6): pairing by id would compare each film's detections with another
    film's vertebrae."""
    gt_id_of = {im.get('file_name'): im['id'] for im in gt['images']}
    for r in results:
        name = r.get('file_name')
        if name in gt_id_of and gt_id_of[name] != r['image_id']:
            raise SpineKeyError(f'{results_path}: film {name!r} is image_id {r["image_id"]} there but '
                                f'{gt_id_of[name]} in {gt_path}: the two files number the films differently. '
                                'Make the ground truth with tools/convert_gt.py --anns GT --results RESULTS --out '
                                'gts.json (it pairs films by file name), then evaluate against gts.json')


def common_images(gt: dict, results: List[dict], gt_path: str, results_path: str,
                  keep_common: bool = False) -> Tuple[dict, List[dict]]:
    """``(gt, results)`` ready to match: unchanged when every result image is in the GT.

    Result images without GT stop the evaluation with both counts and the fix, unless ``keep_common``: then
    results and GT are cut to the images both cover (a GT image without any detection is then left out too,
    since results.json cannot tell it from an image that was not run) and a note says what was left out.

    Raises:
        SpineKeyError: result images without GT and not ``keep_common``, or no image in common.
    """
    check_ids_name_the_same_films(gt, results, gt_path, results_path)
    gt_ids = {im['id'] for im in gt['images']}
    result_ids = {r['image_id'] for r in results}
    extra = result_ids - gt_ids
    if not extra and not keep_common:
        return gt, results
    shared = result_ids & gt_ids
    if not keep_common:
        raise SpineKeyError(f'{results_path}: image_id {min(extra)} is not in the ground truth {gt_path}: the '
                            f'results cover {len(result_ids)} images, the ground truth {len(gt_ids)}, and '
                            f'{len(extra)} result image(s) have none; {FIX_HINT}')
    if not shared:
        raise SpineKeyError(f'{results_path} and {gt_path} have no image in common (results cover '
                            f'{len(result_ids)} images, the ground truth {len(gt_ids)}; ids must agree: gts.json '
                            'from tools/convert_gt.py pairs them by file name)')
    if extra or gt_ids - shared:
        print(f'note: evaluating the {len(shared)} images both files cover; left out {len(extra)} result '
              f'image(s) without ground truth and {len(gt_ids - shared)} ground-truth image(s) without results')
    gt = dict(gt, images=[im for im in gt['images'] if im['id'] in shared],
              annotations=[a for a in gt['annotations'] if a['image_id'] in shared])
    return gt, [r for r in results if r['image_id'] in shared]
