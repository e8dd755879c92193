"""tfnfrl.data: OGBench datasets downloaded or generated, loaded, relabelled and fed to TF.

- `prepare_dataset`: make the files exist, from `data_source` 'auto' (official download,
  else generation), 'download' or 'generate'; `dataset_provenance` says which data it is.
- `generation.generate_dataset`: collect a dataset by OGBench's protocol, write its files.
- `checks`: validate files against the format and protocol.
- `load_datasets`: read them through OGBench's own loader.
- `GCSampler` / `TransitionSampler`: stateless batch samplers (batch = f(seed, step)).
- `make_tf_dataset`: a prefetched tf.data pipeline over a sampler, one input stream per worker
  under a strategy (TF imported lazily); `graph_samplers`: the samplers as TF ops.
"""

from tfnfrl.data.checks import DatasetReport, check_dataset, check_file
from tfnfrl.data.loading import dataset_files, default_dataset_dir, generate_command, load_datasets
from tfnfrl.data.pipeline import make_tf_dataset
from tfnfrl.data.samplers import GCSampler, TransitionSampler, gc_sampler_config
from tfnfrl.data.sources import (
    DATA_SOURCES,
    DatasetUnavailableError,
    dataset_provenance,
    download_dataset,
    prepare_dataset,
)

__all__ = [
    "DATA_SOURCES",
    "DatasetReport",
    "DatasetUnavailableError",
    "GCSampler",
    "TransitionSampler",
    "check_dataset",
    "check_file",
    "dataset_files",
    "dataset_provenance",
    "default_dataset_dir",
    "download_dataset",
    "gc_sampler_config",
    "generate_command",
    "load_datasets",
    "make_tf_dataset",
    "prepare_dataset",
]
