"""Annotation formats in and out of SpineKey COCO (SpineTK, CSV, labelme, YOLO pose, AASCE), the checks a
converted vertebra must pass, patient-grouped splits, and the GT of exactly the evaluated films (gts.json)."""
