"""tools/train.py and tools/test.py as one call each: mmengine's Runner on a config made ready for SpineKey
(K and classes from the data or the checkpoint, CPU torchrun, the results.json dump)."""
from __future__ import annotations

import os.path as osp
from typing import Optional

from spinekey.apis.batch import close_process_group
from spinekey.apis.training import init_cpu_distributed, prepare_test_config, prepare_training_config
from spinekey.utils.errors import SpineKeyError


def default_work_dir(config: str, *sub: str) -> str:
    """work_dirs/<config's name>[/sub...]: where a run goes when nobody says."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config))[0], *sub)


def train_run(cfg, *, launcher: str = 'none', skip_bad_images: bool = False, strict: bool = False,
              amp: bool = False, auto_scale_lr: bool = False, resume=None, workers: Optional[int] = None,
              scale_workers: bool = True) -> None:
    """Train ``cfg`` (a loaded mmengine Config with its work_dir set) with mmengine's Runner.

    ``skip_bad_images``/``strict`` go to every SpineCocoDataset of the run; the rest is
    ``prepare_training_config``'s. ``launcher='pytorch'``: started by torchrun, CPU ranks over gloo.
    """
    cfg.launcher = launcher
    for key in ('train_dataloader', 'val_dataloader'):
        if cfg.get(key) is not None and cfg[key].dataset.get('type') == 'SpineCocoDataset':
            cfg[key].dataset.skip_bad_images = skip_bad_images
            cfg[key].dataset.strict = strict
    prepare_training_config(cfg, amp=amp, auto_scale_lr=auto_scale_lr, resume=resume, workers=workers,
                            scale_workers=scale_workers)
    if launcher == 'pytorch':
        init_cpu_distributed(cfg)
    from mmengine.runner import Runner
    Runner.from_cfg(cfg).train()
    close_process_group()


def results_dump_metric(out: str, cfg):
    """The metric that writes the test predictions to ``out``: SpineKey's results.json (.json) or mmdet's
    DumpDetResults pickle (.pkl)."""
    if out.endswith('.json'):
        from spinekey.evaluation.metrics.dump_results import DumpSpineResults
        ds = cfg.test_dataloader.dataset
        root = osp.join(ds.get('data_root', '') or '', (ds.get('data_prefix') or {}).get('img', '') or '')
        return DumpSpineResults(out_file=out, image_root=root)
    from mmdet.evaluation import DumpDetResults
    return DumpDetResults(out_file_path=out)


def runner_test(cfg, checkpoint: str, work_dir: str, *, launcher: str = 'none', out: Optional[str] = None,
             show_dir: Optional[str] = None, refine_config: Optional[str] = None,
             refine_checkpoint: Optional[str] = None, refine_passes: Optional[int] = None) -> dict:
    """mmengine's Runner.test() of ``checkpoint`` on ``cfg``'s test split with its test_evaluator; returns the
    metrics. ``out``: also the predictions (.json or .pkl); ``show_dir``: overlays under the run's folder.
    ``refine_config`` / ``refine_checkpoint``: both stages (spinekey.apis.refined_test_loop: the refiner between
    the model's predictions and the evaluator)."""
    if out and not out.endswith(('.json', '.pkl', '.pickle')):
        raise SpineKeyError(f'--out {out}: give a .json (results.json) or .pkl file')
    if bool(refine_config) != bool(refine_checkpoint):
        raise SpineKeyError('the refiner needs both its config and its checkpoint (--refine-config, '
                            '--refine-checkpoint)')
    cfg.launcher = launcher
    prepare_test_config(cfg, checkpoint, work_dir)
    if show_dir:
        cfg.default_hooks.visualization.update(draw=True, test_out_dir=show_dir)
    if launcher == 'pytorch':
        init_cpu_distributed(cfg)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    if refine_config:
        # Runner.test() takes a built loop as it is (build_test_loop returns a BaseLoop unchanged)
        from spinekey.apis.refined_test_loop import RefinedTestLoop
        runner._test_loop = RefinedTestLoop(runner, cfg.test_dataloader, cfg.test_evaluator,
                                            fp16=bool((cfg.get('test_cfg') or {}).get('fp16', False)),
                                            refine_config=refine_config, refine_checkpoint=refine_checkpoint,
                                            refine_passes=refine_passes)
    if out:
        runner.test_evaluator.metrics.append(results_dump_metric(out, cfg))
    metrics = runner.test()
    del runner  # its DDP-wrapped model holds the gloo group (see close_process_group)
    close_process_group()
    return metrics
