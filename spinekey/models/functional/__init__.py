from .heatmap import (decode_heatmaps, enlarge_boxes, gaussian_targets, heatmap_coords_to_keypoints,
                      heatmap_softmax_loss, keypoints_to_heatmap_coords)

__all__ = ['decode_heatmaps', 'enlarge_boxes', 'gaussian_targets', 'heatmap_coords_to_keypoints',
           'heatmap_softmax_loss', 'keypoints_to_heatmap_coords']
