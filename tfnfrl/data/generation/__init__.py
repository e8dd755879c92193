"""Local generation of OGBench datasets by OGBench's collection protocol.

`generate_dataset(env_name, dataset_dir, ...)` collects episodes with the family's collector
(`pointmaze.PointMazeCollector`, `manipspace.ManipSpaceCollector`) in worker processes and
writes `{name}.npz` / `{name}-val.npz` atomically in OGBench's file format.
"""

from tfnfrl.data.generation.runner import GenerationResult, dataset_paths, generate_dataset

__all__ = ["GenerationResult", "dataset_paths", "generate_dataset"]
