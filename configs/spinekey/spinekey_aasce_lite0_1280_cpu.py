# Lever 4 of the AASCE ablation (docs/aasce.md): the make-aasce recipe (spinekey_aasce_lite0_cpu.py) with films
# scaled to 1280 px long side instead of 1024, everything else unchanged. A vertebra grows from ~60 x 40 to
# ~75 x 50 px, so each stride-4 feature cell covers less of a corner; a step costs about 1.5x.
_base_ = './spinekey_aasce_lite0_cpu.py'

img_scale = (1280, 640)
train_pipeline = [dict(t, scale=img_scale) if t['type'] in ('RandomResize', 'KeypointResize') else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=img_scale) if t['type'] == 'KeypointResize' else t for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# its uncertainty is not the 7-epoch model's: no calibration until fitted on its own held-out fold
# (tools/fit_intervals.py --calibrate ...eval_fold0/measurements/smape.json); the columns say 'uncalibrated'
conformal = None
