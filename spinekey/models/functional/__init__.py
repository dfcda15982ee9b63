from .heatmap import (decode_heatmaps, enlarge_boxes, gaussian_targets, heatmap_coords_to_keypoints,
                      heatmap_softmax_loss, heatmap_spread, keypoints_to_heatmap_coords, line_angle_loss,
                      spread_to_pixels)

__all__ = ['decode_heatmaps', 'enlarge_boxes', 'gaussian_targets', 'heatmap_coords_to_keypoints',
           'heatmap_softmax_loss', 'heatmap_spread', 'keypoints_to_heatmap_coords', 'line_angle_loss',
           'spread_to_pixels']
