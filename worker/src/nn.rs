//! The few layers the models share, on candle-core alone.

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Module, Result, Tensor, D};

/// `x W^T + b` with `W` kept in its file's (possibly quantized) type.
pub struct Linear {
    weight: QMatMul,
    bias: Option<Tensor>,
}

impl Linear {
    pub fn new(weight: QTensor, bias: Option<Tensor>) -> Result<Self> {
        Ok(Self {
            weight: QMatMul::from_qtensor(weight)?,
            bias,
        })
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // Quantized matmuls take 2-D inputs: fold the leading dims.
        let dims = xs.dims().to_vec();
        let k = dims[dims.len() - 1];
        let rows = xs.elem_count() / k.max(1);
        let ys = self.weight.forward(&xs.reshape((rows, k))?)?;
        let mut out_dims = dims;
        let last = out_dims.len() - 1;
        out_dims[last] = ys.dim(1)?;
        let ys = ys.reshape(out_dims)?;
        match &self.bias {
            Some(b) => ys.broadcast_add(b),
            None => Ok(ys),
        }
    }
}

pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(weight: Tensor, bias: Tensor, eps: f64) -> Self {
        Self { weight, bias, eps }
    }
}

impl Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mean = xs.mean_keepdim(D::Minus1)?;
        let centered = xs.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    let max = xs.max_keepdim(D::Minus1)?;
    let exp = xs.broadcast_sub(&max)?.exp()?;
    exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)
}

/// T5's LayerNorm: scales by the root mean square, no centring, no bias.
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn new(weight: Tensor, eps: f64) -> Self {
        Self { weight, eps }
    }
}

impl Module for RmsNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let var = xs.sqr()?.mean_keepdim(D::Minus1)?;
        xs.broadcast_div(&(var + self.eps)?.sqrt()?)?
            .broadcast_mul(&self.weight)
    }
}

/// Additive attention bias: 0 where visible, a large finite negative number
/// where masked. Not -inf: a fully masked padding row would become NaN.
pub const MASKED: f32 = -1e9;
