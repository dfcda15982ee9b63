"""File I/O: images and DICOM, COCO files and their checks, safe checkpoint loading, atomic writes, output
paths confined to their folder, finding annotated films, weights download. Nothing here imports from a
layer above (dataset conversion lives in spinekey.converters)."""
