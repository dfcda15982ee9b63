# The level-chain model on the synthetic set with column ends (tools/make_synthetic.py --column-ends: C7 smaller,
# S1 wide and tilted, levels known exactly): the check that it names every level where the anatomy says which
# (docs/aasce.md, "The learned level chain on the synthetic split"). No simulated extra beyond a column's ends:
# the synthetic films draw only annotated vertebrae and the sacrum's fused segments (strays stand for those).
# Trained with half its films the detector's own output on the training films (make level-chain-check runs it all):
#   --cfg-options train_dataloader.dataset.detections=<stage 1's results.json on det_train.json>
# python tools/make_synthetic.py --out data/synthetic_ends --num-images 300 --min-vertebrae 8 --max-vertebrae 19 \
#   --height 640 --column-ends
# OMP_NUM_THREADS=1 python tools/train.py configs/level_chain/level-chain_bigru_30e_synthetic.py \
#   --work-dir work_dirs/level_chain_synthetic
_base_ = ['./level-chain_bigru_30e_aasce.py']
train_dataloader = dict(dataset=dict(data_root='data/synthetic_ends/', ann_file='det_train.json', repeats=8,
                                     p_miss=0.02, p_miss_end=0.1, p_extra=0.0, p_duplicate=0.05, p_stray=0.1))
