"""The bottom layer (docs/architecture.md): the records and names every other layer shares (keypoint and corner
names, vertebra levels, the vertebra and film records, results records). It imports nothing of the package."""
