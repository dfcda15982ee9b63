from .geometry import (cobb_angle, distance, genant_grade, height_reduction, heights, line_angle_deg, lordosis_angle,
                       meyerding_grade, slip_percent)

__all__ = ['cobb_angle', 'distance', 'genant_grade', 'height_reduction', 'heights', 'line_angle_deg',
           'lordosis_angle', 'meyerding_grade', 'slip_percent']
