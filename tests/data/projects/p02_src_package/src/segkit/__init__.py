"""segkit: a small segmentation package."""
