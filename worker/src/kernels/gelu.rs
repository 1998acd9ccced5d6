//! GPT-2's GELU (`gelu_new`, the tanh approximation), four values at a time.
//!
//! candle computes `0.5 x (1 + tanh(u))` with a scalar `tanh` that wasm has
//! no instruction for: 28 ns a value, 18 ms of a 20-token gpt2 prefill. Here
//! the same function is written `x / (1 + exp(-2u))` (equal: 1 + tanh(u) =
//! 2 / (1 + exp(-2u))), with a SIMD `exp`: Cephes' range reduction and
//! polynomial, about one ulp.

/// sqrt(2 / pi), as transformers' `NewGELUActivation` has it.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const CUBIC: f32 = 0.044_715;

/// `gelu_new(x)` for every value, in place.
pub fn gelu_tanh(xs: &mut [f32]) {
    #[cfg(target_arch = "wasm32")]
    let xs = {
        let mut chunks = xs.chunks_exact_mut(4);
        for chunk in &mut chunks {
            simd::gelu_4(chunk);
        }
        chunks.into_remainder()
    };
    for x in xs {
        *x = gelu_one(*x);
    }
}

/// The same formula, one value.
fn gelu_one(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + CUBIC * x * x * x);
    x / (1.0 + (-2.0 * u).clamp(-87.3, 88.3).exp())
}

#[cfg(target_arch = "wasm32")]
mod simd {
    use core::arch::wasm32::*;

    use super::{CUBIC, SQRT_2_OVER_PI};

    /// `e^x` for x in [-87.3, 88.3] (clamped): x = n ln 2 + r, e^r by a
    /// degree-7 polynomial, 2^n written into the exponent bits.
    #[inline(always)]
    fn exp_4(x: v128) -> v128 {
        let x = f32x4_min(f32x4_max(x, f32x4_splat(-87.3)), f32x4_splat(88.3));
        let n = f32x4_nearest(f32x4_mul(x, f32x4_splat(std::f32::consts::LOG2_E)));
        // ln 2 in two parts, so that r keeps its low bits.
        let r = f32x4_sub(x, f32x4_mul(n, f32x4_splat(0.693_359_4)));
        let r = f32x4_sub(r, f32x4_mul(n, f32x4_splat(-2.121_944_4e-4)));
        let mut p = f32x4_splat(1.987_569_1e-4);
        for c in [
            1.398_199_9e-3,
            8.333_452e-3,
            4.166_579_6e-2,
            0.166_666_65,
            0.5,
        ] {
            p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
        }
        let e_r = f32x4_add(
            f32x4_add(f32x4_mul(p, f32x4_mul(r, r)), r),
            f32x4_splat(1.0),
        );
        let two_n = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127)), 23);
        f32x4_mul(e_r, two_n)
    }

    pub fn gelu_4(chunk: &mut [f32]) {
        debug_assert_eq!(chunk.len(), 4);
        // SAFETY: `chunk` holds exactly four f32 (chunks_exact_mut(4)).
        unsafe {
            let p = chunk.as_mut_ptr() as *mut v128;
            let x = v128_load(p);
            let x3 = f32x4_mul(f32x4_mul(x, x), x);
            let u = f32x4_mul(
                f32x4_splat(SQRT_2_OVER_PI),
                f32x4_add(x, f32x4_mul(f32x4_splat(CUBIC), x3)),
            );
            let e = exp_4(f32x4_mul(u, f32x4_splat(-2.0)));
            v128_store(p, f32x4_div(x, f32x4_add(f32x4_splat(1.0), e)));
        }
    }
}
