# The shipped AASCE refiner (blended half and half with stage 1) that also places the levels stage 1 missed inside
# the column (spinekey.apis.missed_levels): a seed interpolated between two detections one or two spacings too far
# apart, re-placed by the refiner on the film in two passes from the seed, written as a new results.json entry
# marked "filled". Measured in docs/aasce.md, "Missed levels placed by the refiner" and "Fold 2": lost on fold 0's
# 7-epoch stage 1, gained on the three held-out folds of the 14-epoch recipe, so make aasce runs it since 2026-12-07
# (the blend-half config leaves the missed levels out). The same weights as the
# blend-half refiner (only inference changes): tools/refine.py --config THIS --checkpoint <refiner_fold0/epoch_5.pth>
_base_ = './refiner_lite0-integral_p192_5e_blend-half_aasce_cpu.py'
refine = dict(fill_missed=dict(column_thr=0.3, gap_factor=1.6, max_per_gap=2, passes=2, duplicate_iou=0.5))
