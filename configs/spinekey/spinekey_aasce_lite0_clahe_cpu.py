# The make-aasce stage 1 (spinekey_aasce_lite0_cpu.py: Lite0, 7 epochs, 1024 px) with every film equalised by
# CLAHE after the resize, in training and at test time (RadiographCLAHE: 8 x 8 tiles, clip 2.0). Why: the
# commonest wrong end of the column is a missed L5 in the washed-out band over the pelvis (docs/aasce.md);
# equalising brings that band up to the contrast of the thorax. Applying CLAHE only at test time to a model
# trained without it does not help (fold 1: oracle chain 8.51% against 7.89%): the model must train on it.
# Measured on fold 1 (docs/aasce.md, 2026-12-06): no gain (with make aasce's test passes and refiner 9.24% against
# 8.26%; L5 found on 71 films against 69), so make aasce keeps raw films. Kept for films of other exposure.
_base_ = './spinekey_aasce_lite0_cpu.py'

clahe = dict(type='RadiographCLAHE', clip_limit=2.0, tile_grid=8)
train_pipeline = [s for t in _base_.train_pipeline for s in ([t, clahe] if t['type'] == 'RandomResize' else [t])]
test_pipeline = [s for t in _base_.test_pipeline for s in ([t, clahe] if t['type'] == 'KeypointResize' else [t])]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# its uncertainty is not the 7-epoch model's: no calibration until fitted on its own held-out fold
conformal = None
