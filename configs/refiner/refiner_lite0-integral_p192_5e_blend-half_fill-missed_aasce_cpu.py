# The shipped AASCE refiner (blended half and half with stage 1) that also places the levels stage 1 missed inside
# the column (spinekey.apis.missed_levels): a seed interpolated between two detections one or two spacings too far
# apart, re-placed by the refiner on the film in two passes from the seed, written as a new results.json entry
# marked "filled". Measured in docs/aasce.md, "Missed levels placed by the refiner": gained on 3-epoch stage 1s, not
# on fold 0's 7-epoch one, so make aasce leaves it off (AASCE_REFINE_CFG=THIS turns it on). The same weights as the
# blend-half refiner (only inference changes): tools/refine.py --config THIS --checkpoint <refiner_fold0/epoch_5.pth>
_base_ = './refiner_lite0-integral_p192_5e_blend-half_aasce_cpu.py'
refine = dict(fill_missed=dict(column_thr=0.3, gap_factor=1.6, max_per_gap=2, passes=2, duplicate_iou=0.5))
