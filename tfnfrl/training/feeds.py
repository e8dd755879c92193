"""What the trainer feeds each agent: the batch feed its module names as FEED.

(Where a missing dataset file comes from is another setting, the run config's
`data_source`: auto | download | generate; see `tfnfrl.data.sources`.)

  gc_sampler          offline batches with goals relabelled from each trajectory
                      (`tfnfrl.data.GCSampler`; agent config `sampler` overrides its defaults).
  transition_sampler  offline (s, a, r, s', mask) batches of a singletask dataset
                      (`tfnfrl.data.TransitionSampler`).
  online              the agent collects its own data (`tfnfrl.training.online`).

Each returns a stateless sampler: batch = f(seed, step), so a resumed run sees exactly the
batches the uninterrupted one would have seen.
"""

from tfnfrl import data

OFFLINE_FEEDS = ("gc_sampler", "transition_sampler")
ONLINE_FEED = "online"  # Collected by the agent itself (tfnfrl.training.online.OnlineTrainer).


def check_feed(name):
    """Raise ValueError unless `name` is a known feed."""
    if name not in OFFLINE_FEEDS + (ONLINE_FEED,):
        raise ValueError(f"Unknown feed {name!r}; expected one of {OFFLINE_FEEDS + (ONLINE_FEED,)}.")


def make_sampler(feed, agent_config, dataset, seed):
    """The sampler of `feed` over a loaded dataset dict."""
    check_feed(feed)
    if feed == ONLINE_FEED:
        raise ValueError("An online agent has no offline sampler; train it with tfnfrl.training.online.")
    if feed == "gc_sampler":
        config = data.gc_sampler_config()
        config.update(agent_config.get("sampler", {}))
        return data.GCSampler(dataset, config, seed)
    return data.TransitionSampler(dataset, seed)
