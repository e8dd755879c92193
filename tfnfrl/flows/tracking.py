"""Make Keras 3 layers that hold sub-layers or weights in lists visible to tf.train.Checkpoint.

Keras 3 tracks list attributes for its own weight bookkeeping, but its lists are not TF
`Trackable`s, so `tf.train.Checkpoint(flow=...)` and SavedModel would silently skip whatever
sits in them. Mirroring each item to a plain attribute makes TF track it too; Keras does
not count it twice.
"""


def track_items(owner, prefix, items):
    """Set `owner.<prefix>_<i> = items[i]` for each item; returns `items` unchanged."""
    for i, item in enumerate(items):
        setattr(owner, f"{prefix}_{i}", item)
    return items
