from spinekey.models.refiner.integral_codec import IntegralCodec
from spinekey.models.refiner.simcc_codec import SimCCCodec
from spinekey.models.refiner.vertebra_refiner import VertebraRefiner, refiner_losses, simcc_losses

__all__ = ['IntegralCodec', 'SimCCCodec', 'VertebraRefiner', 'refiner_losses', 'simcc_losses']
