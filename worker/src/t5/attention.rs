//! T5's attention and the relative position bias that stands in for
//! position embeddings.

use candle_core::{Device, Module, Result, Tensor};

use super::config::Config;
use crate::nn::{softmax_last_dim, Linear};

/// transformers' `_relative_position_bucket`, in the same f32 arithmetic.
/// `relative_position` is key position minus query position.
pub fn relative_position_bucket(
    relative_position: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let mut num_buckets = num_buckets as i64;
    let mut bucket = 0;
    let mut rp = relative_position;
    if bidirectional {
        num_buckets /= 2;
        if rp > 0 {
            bucket += num_buckets;
        }
        rp = rp.abs();
    } else {
        // The decoder only looks back: later keys all share bucket 0.
        rp = -rp.min(0);
    }
    let max_exact = num_buckets / 2;
    if rp < max_exact {
        bucket += rp;
    } else {
        let log_ratio = (rp as f32 / max_exact as f32).ln();
        let log_range = (max_distance as f64 / max_exact as f64).ln() as f32;
        let large = max_exact + (log_ratio / log_range * (num_buckets - max_exact) as f32) as i64;
        bucket += large.clamp(max_exact, num_buckets - 1);
    }
    bucket as usize
}

/// The learned bias per (bucket, head) that the first layer of a stack owns.
pub struct RelativeBias {
    /// `[buckets, heads]`
    table: Vec<Vec<f32>>,
    bidirectional: bool,
    max_distance: usize,
}

impl RelativeBias {
    pub fn new(table: &Tensor, bidirectional: bool, max_distance: usize) -> Result<Self> {
        Ok(Self {
            table: table.to_vec2()?,
            bidirectional,
            max_distance,
        })
    }

    /// `[1, heads, q, k]` for queries at `offset..offset + q` and keys `0..k`.
    pub fn bias(&self, q: usize, k: usize, offset: usize) -> Result<Tensor> {
        let heads = self.table.first().map_or(0, Vec::len);
        let mut out = vec![0f32; heads * q * k];
        for i in 0..q {
            for j in 0..k {
                let rp = j as i64 - (i + offset) as i64;
                let b = relative_position_bucket(
                    rp,
                    self.bidirectional,
                    self.table.len(),
                    self.max_distance,
                );
                let Some(row) = self.table.get(b) else {
                    candle_core::bail!("relative position bucket {b} is outside the bias table")
                };
                for (h, &v) in row.iter().enumerate() {
                    out[(h * q + i) * k + j] = v;
                }
            }
        }
        Tensor::from_vec(out, (1, heads, q, k), &Device::Cpu)
    }
}

/// T5 attention: no 1/sqrt(d) scaling (folded into the weights) and no biases.
pub struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    d_kv: usize,
}

impl Attention {
    pub fn new(q: Linear, k: Linear, v: Linear, o: Linear, cfg: &Config) -> Self {
        Self {
            q,
            k,
            v,
            o,
            heads: cfg.num_heads,
            d_kv: cfg.d_kv,
        }
    }

    /// `[b, t, inner]` -> `[b, heads, t, d_kv]`
    fn split(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        xs.reshape((b, t, self.heads, self.d_kv))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values `[b, heads, s, d_kv]` of `source`: the block's own
    /// input, or the encoder output for cross-attention.
    pub fn keys_values(&self, source: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.split(&self.k.forward(source)?)?,
            self.split(&self.v.forward(source)?)?,
        ))
    }

    /// Attends from `xs` to keys/values `kv`; `bias` holds positions and masks.
    pub fn attend(
        &self,
        xs: &Tensor,
        kv: &(Tensor, Tensor),
        bias: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (b, t, _) = xs.dims3()?;
        let q = self.split(&self.q.forward(xs)?)?;
        let scores = q.matmul(&kv.0.t()?.contiguous()?)?.broadcast_add(bias)?;
        let probs = softmax_last_dim(&scores)?;
        let ys = probs
            .matmul(&kv.1)?
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.d_kv))?;
        Ok((self.o.forward(&ys)?, probs))
    }
}
