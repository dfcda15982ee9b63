from spinekey.models.refiner.integral_codec import IntegralCodec
from spinekey.models.refiner.vertebra_refiner import VertebraRefiner, refiner_losses

__all__ = ['IntegralCodec', 'VertebraRefiner', 'refiner_losses']
