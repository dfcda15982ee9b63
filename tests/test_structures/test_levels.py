from spinekey.structures.levels import level_sort_key


def test_levels_sort_cranial_to_caudal_not_as_text():
    shuffled = ['L1', 'T10', 'S1', 'C7', 'T2', 'L6', 'vertebra', 'T12', 'Co1', 'T9', 'C1', 'L5', '']
    assert sorted(shuffled, key=level_sort_key) == ['C1', 'C7', 'T2', 'T9', 'T10', 'T12', 'L1', 'L5', 'L6', 'S1',
                                                    'Co1', '', 'vertebra']
    assert level_sort_key('Th11') == level_sort_key('T11') and level_sort_key('l3') == level_sort_key('L3')


def test_evaluation_and_cohort_tables_follow_anatomy():
    import numpy as np

    from spinekey.evaluation.evaluate import evaluate
    from spinekey.measurement.cohort import cohort_table
    levels = ['T9', 'T10', 'T11', 'T12', 'L1', 'L2']
    anns, results = [], []
    for i, level in enumerate(levels):
        box = [10, 10 + 30 * i, 40, 25]
        kps = [10, 10 + 30 * i, 2, 50, 10 + 30 * i, 2, 50, 35 + 30 * i, 2, 10, 35 + 30 * i, 2]
        anns.append({'id': i + 1, 'image_id': 1, 'category_id': 1, 'bbox': box, 'area': 1000, 'iscrowd': 0,
                     'keypoints': kps, 'num_keypoints': 4, 'label': level})
        results.append({'image_id': 1, 'category_id': 1, 'bbox': box, 'score': 0.9, 'keypoints': kps})
    gt = {'images': [{'id': 1, 'file_name': 'a.png', 'width': 100, 'height': 300}], 'annotations': anns,
          'categories': [{'id': 1, 'name': 'vertebra', 'keypoints': ['top_left', 'top_right', 'bottom_right',
                                                                      'bottom_left']}]}
    metrics = evaluate(gt, results)
    assert list(metrics['per_level']) == levels
    rows = [{'image_id': im, 'level': lv, 'height_anterior_px': 20.0 + np.sin(i + im),
             'height_middle_px': 21.0, 'height_posterior_px': 22.0}
            for im in (1, 2, 3) for i, lv in enumerate(levels)]
    table = cohort_table(rows, 'T9')
    seen = list(dict.fromkeys(r['level'] for r in table))
    assert seen == sorted(seen, key=level_sort_key) and seen[0] == 'T9' and seen[-1] == 'L2'
