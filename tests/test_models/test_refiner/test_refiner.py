"""The refiner's codecs (round trips), its losses (worked by hand) and the network: a tiny one overfits a handful
of patches with each codec, and the uncertainty it learns follows its error."""
import math

import numpy as np
import pytest
import torch

from spinekey.models.refiner import (HeatmapOffsetCodec, IntegralCodec, SimCCCodec, VertebraRefiner,
                                     heatmap_js_divergence, offset_losses, refiner_losses, simcc_losses)


def test_codec_round_trip_is_sub_pixel():
    codec = IntegralCodec(patch_size=128, heatmap_size=32)
    kps = torch.tensor([[[63.5, 63.5], [40.3, 71.9], [90.12, 20.7], [17.0, 100.25]]])
    decoded, scores = codec.decode(codec.encode(kps))
    assert torch.allclose(decoded, kps, atol=0.02)
    assert scores.shape == (1, 4) and (scores > 0.4).all()  # a sigma-1 peak: ~0.47 of its mass within one cell
    assert codec.cell_centres()[0].item() == pytest.approx(1.5) and codec.cell_centres()[-1].item() == 125.5
    with pytest.raises(ValueError):
        IntegralCodec(100, 32)


def test_simcc_round_trip_is_sub_pixel_and_its_bins_sit_on_pixel_centres():
    codec = SimCCCodec(patch_size=64, split_ratio=2, sigma=3.0)
    assert codec.bins == 128
    # bin 0 spans [-0.5, 0], its centre -0.25; the last bin's centre 63.25
    assert codec.bin_centres()[0].item() == pytest.approx(-0.25) and codec.bin_centres()[-1].item() == 63.25
    kps = torch.tensor([[[31.5, 20.25], [12.3, 44.8]]])
    label_x, label_y = codec.encode(kps)
    assert torch.allclose(label_x.sum(-1), torch.ones(1, 2)) and label_x.shape == (1, 2, 128)
    assert int(label_y[0, 0].argmax()) == 41  # 20.25 -> (20.25 + 0.5) * 2 = 41.5 -> bin 41 (centre 20.25)
    decoded, scores = codec.decode(torch.log(label_x), torch.log(label_y))
    assert torch.allclose(decoded, kps, atol=1e-3)
    # a Gaussian of 3 bins = 1.5 px: the mass within 1 px along each axis is erf(1 / (1.5 sqrt 2)) ~ 0.495
    assert scores[0, 0].item() == pytest.approx(math.erf(1 / (1.5 * math.sqrt(2))) ** 2, abs=0.03)
    with pytest.raises(ValueError):
        SimCCCodec(64, split_ratio=0)


def test_offset_codec_round_trip_and_a_decode_by_hand():
    codec = HeatmapOffsetCodec(patch_size=64, heatmap_size=16, sigma=1.5, radius=2.0)
    kps = torch.tensor([[[31.5, 20.25], [12.3, 44.8], [0.0, 63.0]]])
    heat, offsets, near = codec.encode(kps)
    assert heat.shape == (1, 3, 16, 16) and offsets.shape == (1, 3, 2, 16, 16)
    assert heat.max().item() <= 1.0
    assert near[0, 0].sum().item() >= 9 and near[0, 2].sum().item() >= 1  # inside: a disc of 2 cells; at the edge
    logits = torch.log(heat.clamp_min(1e-6)) - torch.log1p(-heat.clamp_max(1 - 1e-6))
    decoded, scores = codec.decode(logits, offsets)
    assert torch.allclose(decoded, kps, atol=1e-4)
    # by hand: cell (row 3, column 5) peaks, its offset (+0.25, -0.5) cells; stride 4, so x = (5.25 + 0.5) * 4 - 0.5
    # = 22.5 and y = (2.5 + 0.5) * 4 - 0.5 = 11.5 patch pixels; the score is the sigmoid of the peak logit
    logits = torch.full((1, 1, 16, 16), -5.0)
    logits[0, 0, 3, 5] = 2.0
    offsets = torch.zeros(1, 1, 2, 16, 16)
    offsets[0, 0, :, 3, 5] = torch.tensor([0.25, -0.5])
    decoded, scores = codec.decode(logits, offsets)
    assert decoded[0, 0].tolist() == pytest.approx([22.5, 11.5])
    assert scores.item() == pytest.approx(1 / (1 + math.exp(-2.0)))


def test_offset_loss_is_least_at_the_targets():
    codec = HeatmapOffsetCodec(patch_size=32, heatmap_size=8, sigma=1.0, radius=1.5)
    target = torch.tensor([[[10.3, 17.8], [20.0, 5.5]]])
    visible = torch.ones(1, 2, dtype=torch.bool)
    heat, offsets, _ = codec.encode(target)
    logits = torch.log(heat.clamp_min(1e-6)) - torch.log1p(-heat.clamp_max(1 - 1e-6))
    log_scale = torch.zeros(1, 2, 2)
    at_target = offset_losses(logits, offsets, target, log_scale, target, visible, codec)
    off = offset_losses(logits, offsets + 0.5, target, log_scale, target, visible, codec)
    # every offset 0.5 cells off in x and y: mean L1 (|dx| + |dy|) = 1 cell = stride 4 patch pixels more
    assert off['loss_kpt'].item() - at_target['loss_kpt'].item() == pytest.approx(4.0, abs=1e-4)
    # the heatmap term at its own target is the Gaussian's entropy, below that of a shifted Gaussian
    shifted = offset_losses(torch.roll(logits, 2, dims=-1), offsets, target, log_scale, target, visible, codec)
    assert shifted['loss_kpt'].item() > at_target['loss_kpt'].item() + 0.5


def test_simcc_loss_is_zero_at_the_label_and_grows_off_it():
    codec = SimCCCodec(patch_size=32, split_ratio=2, sigma=2.0)
    target = torch.tensor([[[10.0, 20.0]]])
    lx, ly = (label.clamp_min(1e-30) for label in codec.encode(target))  # logits never reach -inf
    visible = torch.ones(1, 1, dtype=torch.bool)
    zero = simcc_losses(torch.log(lx), torch.log(ly), target, torch.zeros(1, 1, 2), target, visible, codec)
    assert zero['loss_kpt'].item() == pytest.approx(0.0, abs=1e-5) and zero['loss_unc'].item() == 0.0
    off_x = codec.encode(torch.tensor([[[12.0, 20.0]]]))[0].clamp_min(1e-30)
    off = simcc_losses(torch.log(off_x), torch.log(ly), target, torch.zeros(1, 1, 2), target, visible, codec)
    # KL of two Gaussians of equal width sigma, means 4 bins apart: 4^2 / (2 sigma^2) = 2 nats
    assert off['loss_kpt'].item() == pytest.approx(2.0, abs=0.01)


def test_losses_by_hand():
    kp = torch.tensor([[[1.0, 2.0], [3.0, 3.0]]])
    target = torch.tensor([[[2.0, 2.0], [3.0, 5.0]]])
    log_b = torch.zeros(1, 2, 2)
    visible = torch.tensor([[True, False]])
    out = refiner_losses(kp, log_b, target, visible)
    # visible: errors 1 and 0 in x, y -> L1 0.5; NLL with b = 1: (1/1 + 0 + 0/1 + 0) / 2 = 0.5
    assert out['loss_kpt'].item() == pytest.approx(0.5) and out['loss_unc'].item() == pytest.approx(0.5)
    log_b = torch.full((1, 2, 2), math.log(2.0))  # b = 2: (1/2 + ln 2 + 0 + ln 2) / 2
    assert refiner_losses(kp, log_b, target, visible)['loss_unc'].item() == pytest.approx(0.25 + math.log(2.0))
    none = refiner_losses(kp.requires_grad_(), log_b, target, torch.zeros(1, 2, dtype=torch.bool))
    assert none['loss_kpt'].item() == 0 and none['loss_kpt'].requires_grad


def test_heatmap_js_divergence_by_hand():
    """JS is 0 on the target, ln 2 on a map with no mass where the target has any, and by hand on a mixture."""
    codec = IntegralCodec(patch_size=16, heatmap_size=4)  # cells of 4 px, centres at 1.5, 5.5, 9.5, 13.5
    target = torch.tensor([[[5.5, 9.5]]])
    visible = torch.ones(1, 1, dtype=torch.bool)
    q = torch.softmax(codec.encode(target, sigma=0.5).flatten(), 0)
    assert heatmap_js_divergence(torch.log(q).view(1, 1, 4, 4), target, visible, codec, 0.5).item() == \
        pytest.approx(0, abs=1e-6)
    far = torch.full((1, 1, 4, 4), -1e4)
    far[0, 0, 0, 3] = 0.0  # all the mass on the corner cell, where the Gaussian of 0.5 cells has ~e^-26
    assert heatmap_js_divergence(far, target, visible, codec, 0.5).item() == pytest.approx(math.log(2), abs=1e-4)
    # p uniform over the 16 cells against q: JS = H(m) - (H(p) + H(q)) / 2, entropies worked with numpy
    qn = q.numpy().astype(np.float64)
    m = (qn + 1 / 16) / 2
    entropy = lambda a: -(a * np.log(np.clip(a, 1e-300, None))).sum()  # noqa: E731
    expected = entropy(m) - (np.log(16) + entropy(qn)) / 2
    uniform = torch.zeros(1, 1, 4, 4)
    assert heatmap_js_divergence(uniform, target, visible, codec, 0.5).item() == pytest.approx(expected, rel=1e-5)
    # an invisible keypoint does not count; none visible gives 0 and keeps the graph
    two = torch.cat([uniform, far], 1).requires_grad_()
    both = heatmap_js_divergence(two, target.expand(1, 2, 2), torch.tensor([[True, False]]), codec, 0.5)
    assert both.item() == pytest.approx(expected, rel=1e-5)
    none = heatmap_js_divergence(two, target.expand(1, 2, 2), torch.zeros(1, 2, dtype=torch.bool), codec, 0.5)
    assert none.item() == 0 and none.requires_grad


def test_the_heatmap_regulariser_is_a_loss_term_and_needs_the_integral_codec():
    from spinekey.utils.errors import SpineKeyError
    torch.manual_seed(0)
    model = _tiny_refiner(heatmap_reg=32.0, heatmap_reg_sigma=1.0)
    patches, targets = _patches(2)
    samples = [{'keypoints': targets, 'visible': torch.ones(2, 4, dtype=torch.bool)}]
    losses = model([patches], samples, mode='loss')
    logits = model.forward_tensors(patches)[0]
    expected = 32.0 * heatmap_js_divergence(logits, targets, torch.ones(2, 4, dtype=torch.bool), model.codec, 1.0)
    assert losses['loss_heatmap'].item() == pytest.approx(expected.item(), rel=1e-4)
    assert 'loss_heatmap' not in _tiny_refiner()([patches], samples, mode='loss')
    with pytest.raises(SpineKeyError, match="heatmap_reg.*'integral' codec"):
        _tiny_refiner(codec='simcc', heatmap_reg=1.0)
    with pytest.raises(SpineKeyError, match=r'heatmap_reg\) must be 0 \(off\) or more, got -1.0'):
        _tiny_refiner(heatmap_reg=-1.0)


class _TinyBackbone(torch.nn.Module):
    """Three feature maps at strides 4, 8 and 16, as EfficientNetLite(out_indices=(0, 1, 2)) gives, in a few
    thousand parameters: the test is about the refiner, not the backbone."""

    def __init__(self):
        super().__init__()
        block = lambda cin, cout: torch.nn.Sequential(  # noqa: E731
            torch.nn.Conv2d(cin, cout, 3, 2, 1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU())
        self.s4 = torch.nn.Sequential(block(3, 8), block(8, 8))
        self.s8, self.s16 = block(8, 12), block(12, 16)

    def forward(self, x):
        a = self.s4(x)
        b = self.s8(a)
        return [a, b, self.s16(b)]


def _tiny_refiner(**kwargs):
    from mmdet.registry import MODELS
    if 'TinyRefinerTestBackbone' not in MODELS.module_dict:
        MODELS.register_module('TinyRefinerTestBackbone', module=_TinyBackbone)
    return VertebraRefiner(dict(type='TinyRefinerTestBackbone'), in_channels=(8, 12, 16), num_keypoints=4,
                           patch_size=64, heatmap_size=16, channels=16, **kwargs)


def _patches(n=6, seed=0):
    """Bright quadrilaterals on dark patches; their corners are the targets."""
    import cv2
    rng = np.random.default_rng(seed)
    patches, targets = [], []
    for _ in range(n):
        c = rng.uniform(26, 38, 2)
        half = np.array([[-14, -9], [14, -9], [14, 9], [-14, 9]]) + rng.normal(0, 1.5, (4, 2))
        corners = half + c
        img = np.full((64, 64), 30, np.uint8)
        cv2.fillPoly(img, [np.round(corners * 16).astype(np.int32)], 220, shift=4)
        patches.append(img)
        targets.append(corners)
    return (torch.from_numpy(np.stack(patches)[:, None]),
            torch.as_tensor(np.stack(targets), dtype=torch.float32))


@pytest.mark.parametrize('codec', ['integral', 'simcc', 'offset'])
def test_a_tiny_refiner_overfits_a_handful_of_patches(codec):
    torch.manual_seed(0)
    model = _tiny_refiner(codec=codec, simcc_sigma=2.0, simcc_hidden=64)
    patches, targets = _patches()
    samples = [{'keypoints': targets, 'visible': torch.ones(6, 4, dtype=torch.bool)}]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    first = None
    for step in range(300):
        losses = model([patches], samples, mode='loss')
        loss = losses['loss_kpt'] + losses['loss_unc']
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else losses['loss_kpt'].item()
    pred = model.predict_patches(patches)  # batch statistics, as in training: the fit is the question here
    err = (pred['keypoints'] - targets).abs()
    assert first > 3.0 and err.mean().item() < 1.0, (first, err.mean().item())
    assert pred['sd'].shape == (6, 4, 2) and (pred['sd'] > 0).all()
    # the learned Laplace scale tracks the mean error it was trained on (within a factor of 3)
    assert 1 / 3 < (pred['sd'].mean() / math.sqrt(2)).item() / max(err.mean().item(), 1e-3) < 3


def test_an_unknown_codec_is_one_clear_line():
    from spinekey.utils.errors import SpineKeyError
    with pytest.raises(SpineKeyError, match="'integral', 'simcc' or 'offset'"):
        _tiny_refiner(codec='simc')


@pytest.fixture
def two_threads():
    """Two math threads for one test. Why: with one (as tests/conftest.py sets for the xdist workers) the tiny
    SimCC refiner's gradient at its first fused convolution differs by ~4% between the two layouts (torch 2.13,
    2026-12-06), though every gradient into that block agrees to 1e-6: its two batch norms over 4 patches amplify
    the reduction order's rounding. Training runs with the cores' threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize('codec', ['integral', 'simcc', 'offset'])
def test_channels_last_changes_the_layout_not_the_numbers(codec, two_threads):
    """The same weights in channels-last layout give the same keypoints, losses and gradients; a state dict moves
    between the two layouts either way."""
    torch.manual_seed(0)
    plain = _tiny_refiner(codec=codec)
    fast = _tiny_refiner(codec=codec, channels_last=True)
    fast.load_state_dict(plain.state_dict())
    conv = fast.fuse[0][0].weight  # a 3 x 3 convolution (a 1 x 1 one is contiguous in both layouts)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert plain.fuse[0][0].weight.is_contiguous()
    patches, targets = _patches(4)
    samples = [{'keypoints': t[None], 'visible': torch.ones(1, 4)} for t in targets]
    out = {}
    for name, model in (('plain', plain), ('fast', fast)):
        model.train()
        losses = model(list(patches[:, None]), samples, mode='loss')
        sum(losses.values()).backward()
        model.eval()
        out[name] = (model.predict_patches(patches)['keypoints'], {k: v.item() for k, v in losses.items()},
                     model.fuse[0][0].weight.grad.clone())
    torch.testing.assert_close(out['fast'][0], out['plain'][0], atol=1e-4, rtol=1e-4)
    assert out['fast'][1] == pytest.approx(out['plain'][1], rel=1e-4)
    grad_scale = out['plain'][2].abs().max().item()
    assert (out['fast'][2] - out['plain'][2]).abs().max().item() < 1e-3 * grad_scale  # float rounding only
    plain.load_state_dict(fast.state_dict())  # and back
