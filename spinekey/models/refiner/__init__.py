from spinekey.models.refiner.integral_codec import IntegralCodec
from spinekey.models.refiner.offset_codec import HeatmapOffsetCodec
from spinekey.models.refiner.simcc_codec import SimCCCodec
from spinekey.models.refiner.vertebra_refiner import (VertebraRefiner, heatmap_js_divergence, offset_losses,
                                                     refiner_losses, simcc_losses)

__all__ = ['IntegralCodec', 'HeatmapOffsetCodec', 'SimCCCodec', 'VertebraRefiner', 'heatmap_js_divergence',
           'offset_losses', 'refiner_losses', 'simcc_losses']
