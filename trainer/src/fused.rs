//! Fused layers for training speed. candle's CPU autograd runs every
//! elementwise op single-threaded and accumulates each gradient with an
//! extra zeros + add pass, so a softmax or a norm built from primitives
//! costs dozens of passes. Here the forward pass is one of candle-nn's fused
//! (multi-threaded) kernels, which have no backward pass of their own, and a
//! custom op supplies the gradient in a few tensor ops. The cross-entropy
//! head goes further: it never hands a `[tokens, vocabulary]` gradient to the
//! autograd at all, only the gradients of its two inputs.

use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Storage, Tensor, D,
};

/// The value of `t` as the output storage of a custom op.
fn copy_of(t: &Tensor) -> Result<(CpuStorage, Shape)> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) if layout.start_offset() == 0 && cpu_len(cpu) == t.elem_count() => {
            Ok((cpu.clone(), t.shape().clone()))
        }
        Storage::Cpu(_) => {
            let flat = t.flatten_all()?.copy()?;
            let (s, _) = flat.storage_and_layout();
            match &*s {
                Storage::Cpu(cpu) => Ok((cpu.clone(), t.shape().clone())),
                _ => bail!("the fused layers run on the CPU only"),
            }
        }
        _ => bail!("the fused layers run on the CPU only"),
    }
}

fn cpu_len(s: &CpuStorage) -> usize {
    match s {
        CpuStorage::F32(v) => v.len(),
        _ => usize::MAX,
    }
}

/// Sums a gradient over every dimension but the last (for gains and biases).
fn sum_to_last(g: &Tensor) -> Result<Tensor> {
    let d = g.dim(D::Minus1)?;
    g.reshape(((), d))?.sum(0)
}

struct Softmax {
    probs: Tensor,
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "trainer-softmax"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.probs)
    }

    fn bwd(&self, _x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        // dx = y ⊙ (g - Σ g ⊙ y)
        let y = &self.probs;
        let dot = (g * y)?.sum_keepdim(D::Minus1)?;
        Ok(Some((g.broadcast_sub(&dot)? * y)?))
    }
}

/// Softmax over the last dimension.
pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    let probs = candle_nn::ops::softmax_last_dim(&xs.detach().contiguous()?)?;
    xs.apply_op1(Softmax { probs })
}

struct LayerNormOp {
    value: Tensor,
    eps: f64,
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "trainer-layer-norm"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.value)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let x = x.detach();
        let centered = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let rstd = (centered.sqr()?.mean_keepdim(D::Minus1)? + self.eps)?
            .sqrt()?
            .recip()?;
        let xhat = centered.broadcast_mul(&rstd)?;
        let gw = g.broadcast_mul(&w.detach())?;
        // dx = rstd ⊙ (gw - mean(gw) - x̂ ⊙ mean(gw ⊙ x̂))
        let m1 = gw.mean_keepdim(D::Minus1)?;
        let m2 = (&gw * &xhat)?.mean_keepdim(D::Minus1)?;
        let dx = gw
            .broadcast_sub(&m1)?
            .sub(&xhat.broadcast_mul(&m2)?)?
            .broadcast_mul(&rstd)?;
        let dw = sum_to_last(&(g * &xhat)?)?;
        let db = sum_to_last(g)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

pub fn layer_norm(xs: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    let value = candle_nn::ops::layer_norm(
        &xs.detach().contiguous()?,
        &w.detach(),
        &b.detach(),
        eps as f32,
    )?;
    xs.apply_op3(w, b, LayerNormOp { value, eps })
}

struct RmsNormOp {
    value: Tensor,
    eps: f64,
}

impl CustomOp2 for RmsNormOp {
    fn name(&self) -> &'static str {
        "trainer-rms-norm"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.value)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let x = x.detach();
        let rstd = (x.sqr()?.mean_keepdim(D::Minus1)? + self.eps)?
            .sqrt()?
            .recip()?;
        let xhat = x.broadcast_mul(&rstd)?;
        let gw = g.broadcast_mul(&w.detach())?;
        // dx = rstd ⊙ (gw - x̂ ⊙ mean(gw ⊙ x̂))
        let m = (&gw * &xhat)?.mean_keepdim(D::Minus1)?;
        let dx = gw.sub(&xhat.broadcast_mul(&m)?)?.broadcast_mul(&rstd)?;
        let dw = sum_to_last(&(g * &xhat)?)?;
        Ok((Some(dx), Some(dw)))
    }
}

pub fn rms_norm(xs: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let value = candle_nn::ops::rms_norm(&xs.detach().contiguous()?, &w.detach(), eps as f32)?;
    xs.apply_op2(w, RmsNormOp { value, eps })
}

/// Mean cross-entropy of `softmax(h Tᵀ + bias)` at `targets`, where `h` is
/// `[n, d]` and the tied table `T` is `[rows, d]`.
struct CrossEntropy {
    /// `softmax - onehot(targets)`, `[n, rows]`.
    delta: Tensor,
    loss: f32,
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "trainer-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        Ok((CpuStorage::F32(vec![self.loss]), Shape::from(())))
    }

    fn bwd(
        &self,
        h: &Tensor,
        table: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // d loss / d logits = delta / n; the scalar is applied to the small results.
        let n = self.delta.dim(0)?;
        let scale = g.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()? as f64 / n as f64;
        let dh = (self.delta.matmul(&table.detach())? * scale)?;
        let dt = (self.delta.t()?.matmul(&h.detach())? * scale)?;
        Ok((Some(dh), Some(dt)))
    }
}

/// The loss tensor (for the gradient) and its value, per target token.
pub fn cross_entropy(
    h: &Tensor,
    table: &Tensor,
    bias: Option<&Tensor>,
    targets: &[u32],
) -> Result<(Tensor, f64)> {
    let n = targets.len();
    if n == 0 || h.dim(0)? != n {
        bail!("{} hidden states for {n} targets", h.dim(0)?)
    }
    let logits = h.detach().matmul(&table.detach().t()?)?;
    let logits = match bias {
        Some(b) => logits.broadcast_add(b)?,
        None => logits,
    };
    let probs = candle_nn::ops::softmax_last_dim(&logits)?;
    let idx = Tensor::from_vec(targets.to_vec(), (n, 1), h.device())?;
    let picked: Vec<f32> = probs.gather(&idx, 1)?.flatten_all()?.to_vec1()?;
    // A probability that underflowed to 0 still gives a finite loss.
    let loss = picked
        .iter()
        .map(|&p| -(p.max(f32::MIN_POSITIVE) as f64).ln())
        .sum::<f64>()
        / n as f64;
    // probs - onehot(targets), in place: no second [n, rows] buffer.
    let minus_one = Tensor::full(-1f32, (n, 1), h.device())?;
    probs.scatter_add_set(&idx, &minus_one, 1)?;
    let out = h.apply_op2(
        table,
        CrossEntropy {
            delta: probs,
            loss: loss as f32,
        },
    )?;
    Ok((out, loss))
}

struct Gelu {
    value: Tensor,
}

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "trainer-gelu"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.value)
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        // gelu(x) = x/2 (1 + tanh(c (x + k x³))); candle's own backward uses
        // powf twice, this one only products.
        const C: f64 = 0.797_884_560_802_865_4; // sqrt(2 / pi)
        const K: f64 = 0.044_715;
        let x = x.detach();
        let x2 = x.sqr()?;
        let t = (x2.affine(K, 1.0)? * &x)?.affine(C, 0.0)?.tanh()?;
        let sech2 = t.sqr()?.affine(-1.0, 1.0)?;
        let inner = ((&x * sech2)? * x2.affine(3.0 * K, 1.0)?)?.affine(0.5 * C, 0.0)?;
        let d = (t.affine(0.5, 0.5)? + inner)?;
        Ok(Some((g * d)?))
    }
}

/// GPT-2's `gelu_new` (candle's `gelu`, the tanh approximation).
pub fn gelu(xs: &Tensor) -> Result<Tensor> {
    let value = xs.detach().gelu()?;
    xs.apply_op1(Gelu { value })
}

struct LinearOp {
    value: Tensor,
}

impl LinearOp {
    /// `dx = g W`, `dW = gᵀ x`, `db = 1ᵀ g`, all as matmuls on 2-D views.
    fn grads(
        x: &Tensor,
        w: &Tensor,
        g: &Tensor,
        bias: bool,
    ) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let (out_dim, in_dim) = w.dims2()?;
        let x2 = x.detach().reshape(((), in_dim))?;
        let g2 = g.reshape(((), out_dim))?;
        let dx = g2.matmul(&w.detach())?.reshape(x.shape())?;
        let dw = g2.t()?.matmul(&x2)?;
        let db = if bias {
            let ones = Tensor::ones((1, g2.dim(0)?), g.dtype(), g.device())?;
            Some(ones.matmul(&g2)?.reshape(out_dim)?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

impl CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "trainer-linear"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.value)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, _) = Self::grads(x, w, g, false)?;
        Ok((Some(dx), Some(dw)))
    }
}

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "trainer-linear-bias"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.value)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, db) = Self::grads(x, w, g, true)?;
        Ok((Some(dx), Some(dw), db))
    }
}

/// `x Wᵀ (+ b)` for `x` `[..., in]` and `W` `[out, in]`.
pub fn linear(xs: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let (out_dim, in_dim) = w.dims2()?;
    let mut dims = xs.dims().to_vec();
    if dims.last() != Some(&in_dim) {
        bail!("linear layer of input {in_dim} on a tensor of shape {dims:?}")
    }
    let x2 = xs.detach().reshape(((), in_dim))?;
    let y = x2.matmul(&w.detach().t()?)?;
    let y = match b {
        Some(b) => y.broadcast_add(&b.detach())?,
        None => y,
    };
    *dims.last_mut().expect("checked above") = out_dim;
    let value = y.reshape(dims)?;
    match b {
        Some(b) => xs.apply_op3(w, b, LinearOp { value }),
        None => xs.apply_op2(w, LinearOp { value }),
    }
}
