//! The few layers the models share, on candle-core alone.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Result, Tensor, D};

use crate::kernels::{self, QuantMatrix};

/// `x W^T + b` with `W` kept in its file's (possibly quantized) type.
pub struct Linear {
    weight: Weight,
    bias: Option<Tensor>,
}

enum Weight {
    Candle(QMatMul),
    /// q8_0 and q4_0 in the browser: [`kernels`]' matmul.
    Packed(Arc<QuantMatrix>),
}

impl Linear {
    pub fn new(weight: QTensor, bias: Option<Tensor>) -> Result<Self> {
        let weight = match TokenTable::new(weight)? {
            TokenTable::Packed(w) => Weight::Packed(w),
            TokenTable::Candle(w) => Weight::Candle(QMatMul::from_arc(w)?),
        };
        Ok(Self { weight, bias })
    }
}

/// A token embedding table, looked up row by row and never expanded to f32,
/// which is also the output layer when the head is tied to it.
#[derive(Clone)]
pub enum TokenTable {
    Candle(Arc<QTensor>),
    Packed(Arc<QuantMatrix>),
}

impl TokenTable {
    pub fn new(table: QTensor) -> Result<Self> {
        if kernels::IN_USE {
            if let Some(packed) = QuantMatrix::from_qtensor(&table)? {
                return Ok(Self::Packed(kernels::packed(packed)));
            }
        }
        Ok(Self::Candle(Arc::new(table)))
    }

    /// `[..., hidden]` rows for `ids` (u32 of any shape).
    pub fn embedding(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Self::Candle(t) => t.embedding(ids),
            Self::Packed(t) => {
                let mut dims = ids.dims().to_vec();
                dims.push(t.in_dim());
                let ids = ids.flatten_all()?.to_dtype(DType::U32)?.to_vec1::<u32>()?;
                Tensor::from_vec(t.rows(&ids)?, dims, &Device::Cpu)
            }
        }
    }

    /// The output layer that shares this table's weights.
    pub fn tied_head(&self) -> Result<Linear> {
        let weight = match self {
            Self::Candle(t) => Weight::Candle(QMatMul::from_arc(t.clone())?),
            Self::Packed(t) => Weight::Packed(t.clone()),
        };
        Ok(Linear { weight, bias: None })
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // Quantized matmuls take 2-D inputs: fold the leading dims.
        let dims = xs.dims().to_vec();
        let k = dims[dims.len() - 1];
        let rows = xs.elem_count() / k.max(1);
        let xs = xs.reshape((rows, k))?;
        let ys = match &self.weight {
            Weight::Candle(w) => w.forward(&xs)?,
            Weight::Packed(w) => {
                let values = xs.flatten_all()?.to_vec1::<f32>()?;
                let ys = kernels::matmul(w, &values, rows)?;
                Tensor::from_vec(ys, (rows, w.out_dim()), xs.device())?
            }
        };
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

/// Softmax over the last dimension in one pass over each row, summed one
/// value after another: a masked score's exponential is exactly 0, so a
/// padded row sums to the same bits as the row alone. (candle's sum adds in
/// SIMD lanes plus a tail, so the padding's length moved the last bit, and
/// q8_0 activations can turn that bit into a whole quantization step.)
pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    let width = xs.dim(D::Minus1)?.max(1);
    let mut values = xs.flatten_all()?.to_vec1::<f32>()?;
    for row in values.chunks_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        for x in row.iter_mut() {
            *x /= sum;
        }
    }
    Tensor::from_vec(values, xs.shape(), xs.device())
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

/// The feed-forward activations GPT-2 and T5 configs name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `gelu_new`: the tanh approximation GPT-2 was trained with.
    GeluTanh,
    GeluErf,
    Relu,
}

impl Module for Activation {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::GeluTanh if kernels::IN_USE => {
                let mut values = xs.flatten_all()?.to_vec1::<f32>()?;
                kernels::gelu_tanh(&mut values);
                Tensor::from_vec(values, xs.shape(), xs.device())
            }
            Self::GeluTanh => xs.gelu(),
            Self::GeluErf => xs.gelu_erf(),
            Self::Relu => xs.relu(),
        }
    }
}

/// Additive attention bias: 0 where visible, a large finite negative number
/// where masked. Not -inf: a fully masked padding row would become NaN.
pub const MASKED: f32 = -1e9;

/// `[b, 1, 1, s]` from a `[b, s]` mask of 1 (token) / 0 (padding):
/// [`MASKED`] on padded keys, for every query.
pub fn key_mask_bias(mask: &[Vec<f32>], device: &Device) -> Result<Tensor> {
    let b = mask.len();
    let s = mask.first().map_or(0, Vec::len);
    let flat: Vec<f32> = mask
        .iter()
        .flat_map(|row| row.iter().map(|&m| if m > 0.5 { 0.0 } else { MASKED }))
        .collect();
    Tensor::from_vec(flat, (b, 1, 1, s), device)
}

/// `[b, 1, t, past + t]` for `t` queries after `past` cached positions: 0
/// where key `j` is not after the query and is a token in its row's
/// `key_mask` (`[b, past + t]`), [`MASKED`] elsewhere. Kept as one builder,
/// not the sum of the two masks, so masked scores are exactly [`MASKED`].
pub fn causal_key_mask_bias(
    key_mask: &[Vec<f32>],
    past: usize,
    t: usize,
    device: &Device,
) -> Result<Tensor> {
    let total = past + t;
    let mut bias = Vec::with_capacity(key_mask.len() * t * total);
    for row in key_mask {
        for i in 0..t {
            for (j, &keep) in row.iter().enumerate() {
                let visible = j <= past + i && keep > 0.5;
                bias.push(if visible { 0.0 } else { MASKED });
            }
        }
    }
    Tensor::from_vec(bias, (key_mask.len(), 1, t, total), device)
}

/// `[1, 1, t, past + t]`: [`MASKED`] on keys after the query.
pub fn causal_bias(t: usize, past: usize, device: &Device) -> Result<Tensor> {
    causal_key_mask_bias(&[vec![1.0; past + t]], past, t, device)
}

/// Logits of the last position of batch row `row` (of `[batch, positions,
/// vocab]`) as a plain vector.
pub fn last_logits(logits: &Tensor, row: usize) -> Result<Vec<f32>> {
    let l = logits.get(row)?;
    let n = l.dim(0)?;
    l.get(n - 1)?.to_dtype(DType::F32)?.to_vec1()
}
