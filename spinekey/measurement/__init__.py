from .geometry import (LEVELS, assign_levels, cobb_angle, distance, genant_grade, height_reduction, heights,
                       line_angle_deg, lordosis_angle, meyerding_grade, order_along_spine, slip_percent)

__all__ = ['LEVELS', 'assign_levels', 'cobb_angle', 'distance', 'genant_grade', 'height_reduction', 'heights',
           'line_angle_deg', 'lordosis_angle', 'meyerding_grade', 'order_along_spine', 'slip_percent']
