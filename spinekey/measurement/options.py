"""``MeasureOptions``: what a user decides about measuring a film (tools/measure.py's flags, the inferencer's
``measure=``), in one object that the film step (spinekey.apis.measuring) and the spine step
(spinekey.measurement.spine.measure_spine) both read. The fields typed ``object`` hold parts of higher layers
(a learned level chain, the end-level classifier, a calibration), so this module imports none of them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from spinekey.measurement.uncertainty import DEFAULT_SAMPLES

# a lateral film shows fractures (Genant), slips (Meyerding) and lordosis; an AP (or PA) film shows the coronal
# curve (Cobb), and its "wedging" and side shift are the scoliosis itself, not a fracture or a slip
VIEWS = ('lateral', 'ap')


@dataclass
class MeasureOptions:
    """What tools/measure.py's flags decide. ``custom`` holds parsed ``--define`` measures."""
    anterior: str = 'auto'  # 'auto' reads it from the image; 'left' / 'right'
    bottom_level: Optional[str] = None
    top_level: Optional[str] = None
    pixel_spacing: Optional[float] = None  # mm per pixel for every film (overrides the input)
    # the AASCE 2019 angles (PT, MT, TL) and QC against 17 levels; None: the model config's ``aasce_angles``
    # where a caller has one (True in the AASCE configs: spinekey.apis.measuring.film_defaults_of), else off
    aasce: Optional[bool] = None
    chain: bool = False  # AASCE angles from the spine chain (one vertebra per level) instead of the best 17
    custom: Sequence = ()
    overlay: bool = False  # draw the measurements (FilmMeasurement.overlay_jpg)
    qc: Optional[object] = None  # spinekey.measurement.qc.QCThresholds (None: the defaults)
    expected_levels: Optional[int] = None  # levels a film should show (QC's missing/extra; AASCE: 17)
    unc_samples: int = DEFAULT_SAMPLES  # Monte Carlo copies for the *_unc columns (0: none)
    input_scale: Optional[Tuple[int, int]] = None  # the model's test resize (model_input_scale): film_shrunk QC
    calibration: Optional[object] = None  # spinekey.measurement.conformal.Calibration: the *_lo / *_hi ranges
    level_chain: Optional[object] = None  # spinekey.apis.level_chain.LevelChain: levels named by the learned chain
    min_chain_confidence: float = 0.5  # a kept level less likely than this: the film goes to review
    end_levels: Optional[object] = None  # spinekey.apis.end_levels.EndLevels: the column's ends read off the film
    # spinekey.measurement.end_completion.EndCompletion: a short column's ends completed by faint detections
    end_completion: Optional[object] = None
    # 'lateral' or 'ap' (AP or PA): an AP film gets no Genant / Meyerding grade, slip or lordosis. None: the
    # model config's ``view`` where a caller has one, else a DICOM film's ViewPosition (spinekey.apis.measuring),
    # else 'ap' with the AASCE angles (AP films), else 'lateral'
    view: Optional[str] = None

    def __post_init__(self) -> None:
        if self.view is not None and self.view not in VIEWS:
            raise ValueError(f'unknown film view {self.view!r}; use one of {", ".join(VIEWS)}')
        if self.aasce not in (None, True, False):
            raise ValueError(f'aasce_angles must be True or False, got {self.aasce!r}')

    @property
    def film_view(self) -> str:
        """The view the film is measured as: ``view``, else 'ap' for the AASCE angles, else 'lateral'."""
        return self.view or ('ap' if self.aasce else 'lateral')
