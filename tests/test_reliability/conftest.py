"""Fixtures for the fault-injection suite."""
import pytest
import torch

from tests.conftest import DEMO_CONFIG


@pytest.fixture(scope='session')
def untrained_checkpoint(tmp_path_factory):
    """A real SpineKey checkpoint of the demo model (random weights): enough to exercise every tool."""
    from spinekey.apis import init_model
    from spinekey.structures.keypoint_names import CORNERS_4
    torch.manual_seed(0)  # the same random weights in every test worker
    model = init_model(DEMO_CONFIG)
    path = tmp_path_factory.mktemp('ckpt') / 'untrained.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('vertebra', ), 'keypoint_names': list(CORNERS_4)}}}, path)
    return str(path)
