# What `make aasce` ships as stage 2 (since 2026-12-05): the AASCE refiner, its corners averaged half and half with
# stage 1's (tools/refine.py --blend 0.5). On top of stage 1's rotation test it lowered Cobb SMAPE on both held-out
# folds (7-epoch stage 1: fold 0 9.52% -> 9.11%, fold 1 9.87% -> 8.33%; pooled over the 182 films -0.98 points,
# paired 95% interval [-1.82, -0.31]; on the oracle chain -0.68 [-1.34, -0.15]): docs/aasce.md, "Fold 1".
# The two stages see a vertebra at different resolutions and err partly independently, so their mean beats
# either; the weight 0.5 beat inverse-variance weighting on both folds on top of the rotation test.
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
refine = dict(blend=0.5)
# 90% ranges of the AASCE angles on refined films: split-conformal factors of the blended uncertainty, fitted on
# fold 0's 91 held-out films (7-epoch stage 1 with its rotation test + this refiner of fold 0) and judged on
# fold 1's: 90.1 / 95.6 / 93.4% covered (pt / mt / tl), median widths 13.3 / 12.9 / 11.6 deg; fitted on fold 1,
# judged on fold 0: 91.2 / 86.8 / 89.0%. Refit for another stage 1:
#   python tools/fit_intervals.py --calibrate <run>/measure_best17/smape.json --num-keypoints 4
conformal = dict(level=0.9, mode='normalised', num_keypoints=4,
                 factors={'cobb_pt_deg': 2.1064, 'cobb_mt_deg': 2.4637, 'cobb_tl_deg': 2.1246},
                 widths={'cobb_pt_deg': 11.744, 'cobb_mt_deg': 8.007, 'cobb_tl_deg': 11.106})
