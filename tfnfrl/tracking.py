"""Make every Keras 3 weight visible to tf.train.Checkpoint and SavedModel.

Keras 3 tracks list attributes for its own weight bookkeeping, but its lists are not TF
`Trackable`s, so `tf.train.Checkpoint(flow=...)` and SavedModel would silently skip whatever
sits in them (e.g. a flow's non-trainable permutations). Two helpers fix that: layers mirror
list items to plain attributes (`track_items`), and agents hold a `{path: weight}` dict of
all their networks' weights (`weights_by_path`), which TF tracks under stable keys.
"""


def track_items(owner, prefix, items):
    """Set `owner.<prefix>_<i> = items[i]` for each item; returns `items` unchanged."""
    for i, item in enumerate(items):
        setattr(owner, f"{prefix}_{i}", item)
    return items


def weights_by_path(*layers):
    """{Keras weight path with '/' -> '.': weight} over `layers` (built), in order.

    The dotted paths are the checkpoint keys, so they stay stable across code changes that
    keep layer names. Raises ValueError if two weights share a path: name layers uniquely.
    """
    weights = [w for layer in layers for w in layer.weights]
    tracked = {w.path.replace("/", "."): w for w in weights}
    if len(tracked) != len(weights):
        seen, duplicates = set(), set()
        for w in weights:
            (duplicates if w.path in seen else seen).add(w.path)
        raise ValueError(f"Two weights share a Keras path ({sorted(duplicates)}); name the layers uniquely.")
    return tracked
