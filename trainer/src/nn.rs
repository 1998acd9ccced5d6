//! Trainable layers. Norms and softmax run through `fused.rs` (candle-nn's
//! fused kernels with our backward pass); the `reference` module has the
//! same functions from candle primitives, for the tests.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{Init, VarBuilder};
use worker::nn::Activation;

/// The worker's mask value, so training and inference mask alike.
pub use worker::nn::MASKED;

/// `x W^T (+ b)`, with `W` stored `[out, in]` as llama.cpp and T5 store it.
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// Weights drawn from N(0, `std`²), the bias (if any) zero.
    pub fn load(
        vb: VarBuilder,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
        std: f64,
    ) -> Result<Self> {
        let weight = vb.get_with_hints(
            (out_dim, in_dim),
            "weight",
            Init::Randn {
                mean: 0.0,
                stdev: std,
            },
        )?;
        let bias = if bias {
            Some(vb.get_with_hints(out_dim, "bias", Init::Const(0.0))?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        crate::fused::linear(xs, &self.weight, self.bias.as_ref())
    }
}

pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn load(vb: VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(dim, "weight", Init::Const(1.0))?,
            bias: vb.get_with_hints(dim, "bias", Init::Const(0.0))?,
            eps,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        crate::fused::layer_norm(xs, &self.weight, &self.bias, self.eps)
    }
}

/// T5's norm: divides by the root mean square; no centring, no bias.
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn load(vb: VarBuilder, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(dim, "weight", Init::Const(1.0))?,
            eps,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        crate::fused::rms_norm(xs, &self.weight, self.eps)
    }
}

/// The fused layers' functions from candle primitives (autograd throughout):
/// the worker's own layers where it has them, so the tests also check that
/// training computes what inference does.
pub mod reference {
    use super::*;

    /// The worker's softmax sums in order outside the autograd graph (so
    /// padding cannot move a bit); this is the same function in primitives.
    pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
        let max = xs.max_keepdim(D::Minus1)?;
        let exp = xs.broadcast_sub(&max)?.exp()?;
        exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)
    }

    pub fn layer_norm(xs: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
        worker::nn::LayerNorm::new(w.clone(), b.clone(), eps).forward(xs)
    }

    pub fn rms_norm(xs: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
        worker::nn::RmsNorm::new(w.clone(), eps).forward(xs)
    }

    pub fn linear(xs: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        let mut dims = xs.dims().to_vec();
        let in_dim = dims.pop().unwrap_or(1);
        let ys = xs.reshape(((), in_dim))?.matmul(&w.t()?)?;
        let ys = match b {
            Some(b) => ys.broadcast_add(b)?,
            None => ys,
        };
        dims.push(w.dim(0)?);
        ys.reshape(dims)
    }
}

/// Scaled or unscaled dot-product attention of `[b, h, q, d]` queries on
/// `[b, h, k, d]` keys/values; `bias` broadcasts to `[b, h, q, k]`.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: &Tensor, scale: f64) -> Result<Tensor> {
    let scores = q.matmul(&k.t()?.contiguous()?)?;
    let scores = if scale == 1.0 {
        scores
    } else {
        (scores * scale)?
    };
    crate::fused::softmax_last_dim(&scores.broadcast_add(bias)?)?.matmul(v)
}

/// The worker's activation, through the fused op (with its cheaper
/// backward) where there is one.
pub fn activation(act: Activation, xs: &Tensor) -> Result<Tensor> {
    match act {
        Activation::GeluTanh => crate::fused::gelu(xs),
        other => other.forward(xs),
    }
}
