"""Acting with frozen weights: a coupling flow's sampling pass and denoising gradient, fused.

Between two optimizer steps the weights do not change, yet the training-time acting path
(`ConditionalFlow.sample`, then autodiff of `log_prob` for the paper's denoising step
a <- a + sigma^2 grad_a log pi(a | y)) recomputes per call what depends only on weights:
the sampling direction of each `tfb.Invert(tfb.ScaleMatvecLU)` solves two triangular
systems, the s and t MLPs of a coupling run as separate layers, and the denoising step
runs the whole flow a second time (data -> noise) before differentiating it. `FrozenFlow`
keeps, per weight version, in non-trainable variables:

  - each block's W and dense W^-1 (inverted once, in float64): a linear flow is one
    [d, d] matmul in either direction;
  - each coupling's s and t MLPs side by side: their first layers as one matmul, their
    output layers as one block-diagonal matmul, LayerNorms and activations on [B, 2, H];
  - the context's share of every coupling's first layer, all blocks side by side: one
    matmul of the context for the whole flow (the context is the same in every block).

`sample(z, context, denoise_scale)` runs noise -> data and, when `denoise_scale` is given,
back-propagates log p by hand through the activations of that same pass: at the sampled
x, the data -> noise pass would recompute exactly those activations (a coupling leaves x1
unchanged), so the denoising step costs one backward pass instead of a forward pass plus a
backward pass. Gradient, per block (data -> noise: u -> v = coupling^-1(u) -> v W^T, with
v2 = (u2 - t) exp(-s) and log-det -sum(s)), from dlog N(z)/dz = -z:

  g_v = g_out W;  g_u2 = g_v2 exp(-s);  g_t = -g_u2;  g_s = -g_v2 v2 - 1;
  g_u1 = g_v1 + (g_t, g_s) back through the MLPs to x1.

Only builtin ops (matmul, LayerNorm arithmetic, select, exp), so the same code converts to
LiteRT. Results equal the training-time path to float tolerance (the activations of the
denoising gradient come from the sampling pass, not from a recomputation).

The large matrices (the couplings' hidden layers, the context kernel) are variables of their
own; everything else is packed into one flat variable and sliced inside the compiled call,
because the TF runtime pays per captured variable on every call (see `FrozenFlow.__init__`).

`refresh()` re-derives everything from the live flow; the owner decides when (see
`tfnfrl.agents.nf_gcbc`: when the optimizer has stepped, before an eager call). Checking
inside the compiled call does not pay: a refresh there makes every cached weight an output
of the XLA call, copied back on each call, and a fallback branch (tf.cond) cost ~1 ms at
batch 1 on XLA's CPU backend.
"""

import keras
import tensorflow as tf

from tfnfrl import keras_defaults
from tfnfrl.flows import conditional_flow


SEPARATE = ("k2_shift", "k2_log_scale", "k1c")  # Acting weights kept as variables of their own (large dot operands).


def supports(flow):
    """Whether `FrozenFlow` can take `flow`: a coupling `ConditionalFlow` (MAF sampling is sequential)."""
    return isinstance(flow, conditional_flow.ConditionalFlow) and flow.block_type == "coupling"


def _leaky_relu(x):
    return tf.nn.leaky_relu(x, keras_defaults.LEAKY_RELU_SLOPE)


def _leaky_relu_backward(gradient, pre_activation):
    return tf.where(pre_activation > 0, gradient, keras_defaults.LEAKY_RELU_SLOPE * gradient)


def _side_by_side(shift_part, log_scale_part):
    """[B, H] twice -> [B, 2, H] (concat + reshape: LiteRT's XNNPACK delegate has no PACK)."""
    return tf.reshape(tf.concat([shift_part, log_scale_part], axis=-1), [-1, 2, shift_part.shape[-1]])


def _layer_norm(x, gamma, beta):
    """LayerNorm over the last axis: (output, normalised x, 1/sigma) for the backward pass."""
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    centred = x - mean
    inv_std = tf.math.rsqrt(tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True) + keras_defaults.LAYER_NORM_EPSILON)
    normalised = centred * inv_std
    return normalised * gamma + beta, normalised, inv_std


def _layer_norm_backward(gradient_normalised, normalised, inv_std):
    """d loss / d x from d loss / d (normalised x) for LayerNorm over the last axis."""
    mean_gradient = tf.reduce_mean(gradient_normalised, axis=-1, keepdims=True)
    mean_projection = tf.reduce_mean(gradient_normalised * normalised, axis=-1, keepdims=True)
    return inv_std * (gradient_normalised - mean_gradient - normalised * mean_projection)


def _mlp_layers(layers):
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    norms = [layer for layer in layers if isinstance(layer, keras.layers.LayerNormalization)]
    return dense, norms


class FrozenFlow:
    """Acting-time weights of a coupling `ConditionalFlow`, derived once per weight version.

    A plain object, not a tracked module: its variables never enter training checkpoints
    (they are derived), and an export captures them by tracing like any other weight.

    Args:
      flow: a built `ConditionalFlow` with block_type "coupling" (see `supports`).
    """

    def __init__(self, flow):
        if not supports(flow):
            raise ValueError(
                "FrozenFlow needs a ConditionalFlow with block_type='coupling'. "
                f"Received: {type(flow).__name__} with block_type={getattr(flow, 'block_type', None)!r}"
            )
        if not flow.built:
            flow.build()
        self.flow = flow
        self.event_dim = flow.event_dim
        self.context_dim = flow.context_dim
        self.num_masked = flow.event_dim // 2
        self.num_blocks = flow.num_blocks
        self.use_linear_flow = flow.use_linear_flow
        self.use_layer_norm = flow.use_layer_norm
        self._refresh_function = None
        values = self._derive()
        # The large matrices stay variables of their own; every other tensor (biases, LayerNorm
        # parameters, W and W^-1, the thin first-layer and output kernels) lives in one flat
        # variable, sliced inside the compiled call: each captured variable costs ~2.4 us per
        # call on the TF runtime (97 -> 32 for the paper's NF-GCBC act), while a slice of a few
        # KB is free for elementwise consumers and a negligible copy for a dot.
        self._layout = {}
        offset = 0
        for key, value in values.items():
            if key in SEPARATE:
                continue
            for i, tensor in enumerate(value if isinstance(value, list) else [value]):
                size = int(tf.size(tensor))
                self._layout[key, i] = (offset, tuple(tensor.shape))
                offset += size
        with tf.init_scope():
            self.variables = {
                key: [tf.Variable(v, trainable=False, name=f"frozen_{key}_{i}") for i, v in enumerate(values[key])]
                if isinstance(values[key], list)
                else tf.Variable(values[key], trainable=False, name=f"frozen_{key}")
                for key in SEPARATE
            }
            self.variables["packed"] = tf.Variable(self._pack(values), trainable=False, name="frozen_packed")

    # ------------------------------------------------------------------ weights
    def _derive(self):
        """{name: tensor or per-block list}: the acting-time weights from the flow's current ones.

        Per block, nets in (shift, log_scale) order: k1x [m, 2 H1] and b1 [2 H1] (first
        layers side by side), k2_shift / k2_log_scale [H1, H2] (XLA's CPU batched matmul is
        slower than two plain ones at batch 1), k3 [2 H2, 2 out] block-diagonal, LayerNorm
        gamma/beta [2, H]; w and w_inv_t [d, d]. k1c [k, blocks * 2 H1]: every first layer's
        context rows.
        """
        m, k = self.num_masked, self.context_dim
        keys = ("k1x", "b1", "g1", "be1", "k2_shift", "k2_log_scale", "b2", "g2", "be2", "k3", "b3", "w", "w_inv_t")
        out = {key: [] for key in keys}
        context_kernels = []
        value = tf.convert_to_tensor
        for i, conditioner in enumerate(self.flow.affine_conditioners):
            nets = (
                _mlp_layers(conditioner._shift_layers),  # pylint: disable=protected-access
                _mlp_layers(conditioner._log_scale_layers),  # pylint: disable=protected-access
            )
            dense = [d for d, _ in nets]
            kernel1 = tf.concat([value(d[0].kernel) for d in dense], axis=1)  # [in, 2 H1]
            bias1 = tf.concat([value(d[0].bias) for d in dense], axis=0)
            if m + k == 0:  # The conditioner reads a constant 1: its first-layer row is a bias.
                bias1 = bias1 + kernel1[0]
            out["k1x"].append(kernel1[:m])
            out["b1"].append(bias1)
            if k:
                context_kernels.append(kernel1[m:m + k])
            out["k2_shift"].append(value(dense[0][1].kernel))
            out["k2_log_scale"].append(value(dense[1][1].kernel))
            out["b2"].append(tf.stack([value(d[1].bias) for d in dense]))
            kernel3 = [value(d[2].kernel) for d in dense]  # [H2, out] each
            zeros = tf.zeros_like(kernel3[0])
            out["k3"].append(tf.concat([tf.concat([kernel3[0], zeros], 1), tf.concat([zeros, kernel3[1]], 1)], 0))
            out["b3"].append(tf.concat([value(d[2].bias) for d in dense], axis=0))
            for j, key in ((0, "1"), (1, "2")):
                if self.use_layer_norm:
                    out["g" + key].append(tf.stack([value(norms[j].gamma) for _, norms in nets]))
                    out["be" + key].append(tf.stack([value(norms[j].beta) for _, norms in nets]))
                else:
                    out["g" + key].append(tf.zeros([2, 0]))
                    out["be" + key].append(tf.zeros([2, 0]))
            if self.use_linear_flow:
                linear = self.flow.linear_flows[i]
                w = tf.linalg.lu_reconstruct(
                    tf.cast(value(linear.lower_upper), tf.float64), value(linear.permutation)
                )
                out["w"].append(tf.cast(w, tf.float32))
                out["w_inv_t"].append(tf.cast(tf.transpose(tf.linalg.inv(w)), tf.float32))
            else:
                out["w"].append(tf.zeros([0, 0]))
                out["w_inv_t"].append(tf.zeros([0, 0]))
        out["k1c"] = tf.concat(context_kernels, axis=1) if k else tf.zeros([0, 0])
        return out

    def _pack(self, values):
        """The flat [n] concatenation of every tensor outside SEPARATE, in `_layout` order."""
        parts = [
            tf.reshape(values[key] if isinstance(values[key], tf.Tensor) else values[key][i], [-1])
            for (key, i) in self._layout
        ]
        return tf.concat(parts, axis=0) if parts else tf.zeros([0])

    def weight(self, key, i=0):
        """Acting weight `key` (of block i): its variable, or its slice of the packed one."""
        if key in SEPARATE:
            variable = self.variables[key]
            return variable[i] if isinstance(variable, list) else variable
        offset, shape = self._layout[key, i]
        size = 1
        for dim in shape:
            size *= dim
        return tf.reshape(self.variables["packed"][offset:offset + size], shape)

    def refresh(self):
        """Re-derive the acting weights from the flow's current weights (one compiled call)."""
        if self._refresh_function is None:
            self._refresh_function = tf.function(self._assign)
        self._refresh_function()

    def _assign(self):
        values = self._derive()
        for key in SEPARATE:
            variable = self.variables[key]
            if isinstance(variable, list):
                for v, value in zip(variable, values[key]):
                    v.assign(value)
            else:
                variable.assign(values[key])
        self.variables["packed"].assign(self._pack(values))

    # ------------------------------------------------------------------ acting
    def _mlp(self, i, x1, context_part):
        """Both MLPs of block i on concat(x1, context): (shift [B, out], log_scale, activations for backward)."""
        w = self.weight
        pre1 = w("b1", i)
        if context_part is not None:
            pre1 = pre1 + context_part
        if self.num_masked:
            pre1 = pre1 + tf.matmul(x1, w("k1x", i))
        if context_part is None and not self.num_masked:
            pre1 = tf.broadcast_to(pre1, tf.stack([tf.shape(x1)[0], tf.shape(pre1)[-1]]))
        pre1 = tf.reshape(pre1, [-1, 2, w("k2_shift", i).shape[0]])  # [B, net, H1]
        hidden1 = _leaky_relu(pre1)
        saved = {"pre1": pre1}
        if self.use_layer_norm:
            hidden1, saved["n1"], saved["r1"] = _layer_norm(hidden1, w("g1", i), w("be1", i))
        pre2 = _side_by_side(
            tf.matmul(hidden1[:, 0], w("k2_shift", i)), tf.matmul(hidden1[:, 1], w("k2_log_scale", i))
        ) + w("b2", i)
        hidden2 = _leaky_relu(pre2)
        saved["pre2"] = pre2
        if self.use_layer_norm:
            hidden2, saved["n2"], saved["r2"] = _layer_norm(hidden2, w("g2", i), w("be2", i))
        width2 = pre2.shape[-1]
        out = tf.matmul(tf.reshape(hidden2, [-1, 2 * width2]), w("k3", i)) + w("b3", i)
        shift, log_scale = tf.split(out, 2, axis=-1)
        return shift, log_scale, saved

    def _mlp_backward(self, i, gradient_shift, gradient_log_scale, saved):
        """d/d x1 [B, m] of <gradients, MLP outputs> for the MLPs of block i."""
        w = self.weight
        width1, width2 = w("k2_shift", i).shape
        gradient = tf.matmul(tf.concat([gradient_shift, gradient_log_scale], -1), w("k3", i), transpose_b=True)
        gradient = tf.reshape(gradient, [-1, 2, width2])
        if self.use_layer_norm:
            gradient = _layer_norm_backward(gradient * w("g2", i), saved["n2"], saved["r2"])
        gradient = _leaky_relu_backward(gradient, saved["pre2"])
        gradient = _side_by_side(
            tf.matmul(gradient[:, 0], w("k2_shift", i), transpose_b=True),
            tf.matmul(gradient[:, 1], w("k2_log_scale", i), transpose_b=True),
        )
        if self.use_layer_norm:
            gradient = _layer_norm_backward(gradient * w("g1", i), saved["n1"], saved["r1"])
        gradient = _leaky_relu_backward(gradient, saved["pre1"])
        return tf.matmul(tf.reshape(gradient, [-1, 2 * width1]), w("k1x", i), transpose_b=True)

    def _context_parts(self, context):
        """Each block's context share of its first layers: a list of [B, 2 H1] (None without context)."""
        if not self.context_dim:
            return [None] * self.num_blocks
        return tf.split(tf.matmul(context, self.weight("k1c")), self.num_blocks, axis=-1)

    def sample(self, z, context=None, denoise_scale=None):
        """Noise z [B, d] -> data x [B, d]; with `denoise_scale` c, x + c * grad_x log p(x | context).

        Equals `ConditionalFlow.transform_noise(z, context)` (and the autodiff denoising step)
        to float tolerance, for the weights of the last refresh.
        """
        w, m = self.weight, self.num_masked
        context_parts = self._context_parts(context)
        x = z
        # d log N(z) / dz; block by block it becomes d log p / d (the block's data -> noise output).
        gradient = -z if denoise_scale is not None else None
        for i in reversed(range(self.num_blocks)):
            if self.use_linear_flow:
                x = tf.matmul(x, w("w_inv_t", i))  # Invert(ScaleMatvecLU): x <- W^-1 x.
                if gradient is not None:
                    gradient = tf.matmul(gradient, w("w", i))
            x1, v2 = x[:, :m], x[:, m:]
            shift, log_scale, saved = self._mlp(i, x1, context_parts[i])
            scale = tf.exp(log_scale)
            x = tf.concat([x1, v2 * scale + shift], axis=-1)
            if gradient is not None:
                gradient1, gradient2 = gradient[:, :m], gradient[:, m:]
                gradient_u2 = gradient2 / scale  # * exp(-s)
                if m:  # d/d shift = -g_u2; d/d log_scale = -g_v2 v2 - 1 (the -sum(s) log-det).
                    gradient1 = gradient1 + self._mlp_backward(i, -gradient_u2, -gradient2 * v2 - 1.0, saved)
                gradient = tf.concat([gradient1, gradient_u2], axis=-1)
        if gradient is None:
            return x
        return x + denoise_scale * gradient
