"""tfnfrl.data: OGBench datasets generated locally, loaded, relabelled and fed to TF.

- `generation.generate_dataset`: collect a dataset by OGBench's protocol, write its files.
- `checks`: validate files against the format and protocol.
- `load_datasets`: read them through OGBench's own loader.
- `GCSampler` / `TransitionSampler`: stateless batch samplers (batch = f(seed, step)).
- `make_tf_dataset`: a prefetched tf.data pipeline over a sampler (TF imported lazily).
"""

from tfnfrl.data.checks import DatasetReport, check_dataset, check_file
from tfnfrl.data.loading import dataset_files, default_dataset_dir, generate_command, load_datasets
from tfnfrl.data.pipeline import make_tf_dataset
from tfnfrl.data.samplers import GCSampler, TransitionSampler, gc_sampler_config

__all__ = [
    "DatasetReport",
    "GCSampler",
    "TransitionSampler",
    "check_dataset",
    "check_file",
    "dataset_files",
    "default_dataset_dir",
    "gc_sampler_config",
    "generate_command",
    "load_datasets",
    "make_tf_dataset",
]
