//! Reproducible initialisation: a `VarBuilder` whose new variables are drawn
//! from our own seeded generator, one stream per variable name, so the
//! weights depend on the seed and the name only (not on candle's global RNG
//! or on the order in which layers are built).

use std::collections::HashMap;

use candle_core::{bail, DType, Device, Result, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use worker::sampling::Rng;

/// Normal samples by Box–Muller from the worker's SplitMix64.
pub struct Normal(Rng);

impl Normal {
    pub fn new(seed: u64) -> Self {
        Self(Rng::new(seed))
    }

    pub fn uniform(&mut self) -> f64 {
        self.0.next_f64()
    }

    /// Uniform integer in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.0.next_f64() * n as f64) as usize).min(n.saturating_sub(1))
    }

    pub fn sample(&mut self) -> f64 {
        // 1 - u is in (0, 1]: the logarithm stays finite.
        let u1 = 1.0 - self.0.next_f64();
        let u2 = self.0.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// FNV-1a: a stable hash of a name (std's hasher may change between releases).
pub fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

struct SeededBackend {
    varmap: VarMap,
    seed: u64,
}

fn lock(varmap: &VarMap) -> Result<std::sync::MutexGuard<'_, HashMap<String, Var>>> {
    varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::msg("the variable map lock is poisoned"))
}

impl SimpleBackend for SeededBackend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut vars = lock(&self.varmap)?;
        if let Some(var) = vars.get(name) {
            if var.shape() != &s {
                bail!("variable {name} has shape {:?}, wanted {s:?}", var.shape())
            }
            return Ok(var.as_tensor().clone());
        }
        let n = s.elem_count();
        let mut rng = Normal::new(self.seed ^ name_hash(name));
        let values: Vec<f32> = match h {
            Init::Const(c) => vec![c as f32; n],
            Init::Randn { mean, stdev } => (0..n)
                .map(|_| (mean + stdev * rng.sample()) as f32)
                .collect(),
            Init::Uniform { lo, up } => (0..n)
                .map(|_| (lo + (up - lo) * rng.uniform()) as f32)
                .collect(),
            other => bail!("initialisation {other:?} is not supported here"),
        };
        let var = Var::from_tensor(&Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?)?;
        let t = var.as_tensor().clone();
        vars.insert(name.to_string(), var);
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        match lock(&self.varmap)?.get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => bail!("no variable named {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        lock(&self.varmap).is_ok_and(|v| v.contains_key(name))
    }
}

/// A builder that creates missing variables in `varmap` from `seed`.
pub fn seeded_var_builder(varmap: &VarMap, seed: u64) -> VarBuilder<'static> {
    let backend = SeededBackend {
        varmap: varmap.clone(),
        seed,
    };
    VarBuilder::from_backend(Box::new(backend), DType::F32, Device::Cpu)
}

/// The variables of `varmap`, sorted by name (a `HashMap` has no stable order).
pub fn sorted_vars(varmap: &VarMap) -> Result<Vec<(String, Var)>> {
    let mut vars: Vec<(String, Var)> = lock(varmap)?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(vars)
}

/// One variable's current value.
pub fn var_tensor(varmap: &VarMap, name: &str) -> Result<Tensor> {
    match lock(varmap)?.get(name) {
        Some(v) => Ok(v.as_tensor().clone()),
        None => bail!("the model has no variable {name}"),
    }
}
