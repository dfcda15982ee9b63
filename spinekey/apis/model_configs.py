"""One way to open the config of a small SpineKey model (the refiner, the level chain, the end-level
classifier): load it, set mmdet's scope, register SpineKey's parts, and say in one line when the file is the
config of another model, instead of a registry error deep inside mmengine."""
from __future__ import annotations

from spinekey.utils.cli import load_config
from spinekey.utils.errors import SpineKeyError


def model_config(config: str, model_type: str, what: str, hint: str = ''):
    """The mmengine Config of ``config``, whose ``model.type`` must be ``model_type``; ``what`` names the kind
    in the error ("a refiner"), ``hint`` follows it ("; give the stage-2 config, ...")."""
    from mmengine.registry import init_default_scope
    cfg = load_config(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    import spinekey  # noqa: F401  (registers every model part)
    found = cfg.get('model', {}).get('type')
    if found != model_type:
        raise SpineKeyError(f'{config}: not {what} config (model type {found!r}){hint}')
    return cfg


def build_model(cfg):
    """``cfg.model`` built from mmdet's registry."""
    from mmdet.registry import MODELS
    return MODELS.build(cfg.model)
