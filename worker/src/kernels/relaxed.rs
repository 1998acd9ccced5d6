//! Dot products on relaxed SIMD's int8 dot product
//! (`i32x4.relaxed_dot_i8x16_i7x16_add_s`), in the worker build with the
//! `relaxed-simd` feature: a browser without relaxed SIMD cannot compile
//! that build, so the page loads it only where a tiny relaxed module
//! validates (`static/simd-check.js`), and the SIMD128 build elsewhere.
//! One operand must be 0..=127 for every browser to give the same sums:
//! - q4_0: the stored nibbles (value + 8) are 0..=15;
//! - q8_0: the activations' magnitudes are (quantization gives −127..=127),
//!   and their signs move onto the weights, which stay in range as long as
//!   no weight is −128 (such a matrix takes the SIMD128 path: `narrow`).
//!
//! Where the CPU has AVX-VNNI, V8 emits one `vpdpbusd` for it: sixteen
//! products and their sums in one instruction.

// Indices run over several arrays at once (rows, weight rows, halves).
#![allow(clippy::needless_range_loop)]

use core::arch::wasm32::*;

use super::dot::lane_sums;
use super::matmul::{Row, BLOCK, QUAD};

/// `R` activation rows with four packed q8_0 weight rows, none of them
/// holding −128: four dot products a row, as `dot_rows` gives them.
#[target_feature(enable = "relaxed-simd")]
pub(super) fn dot_rows_q8<const R: usize>(xs: [Row; R], w: (&[u8], &[f32])) -> [[f32; 4]; R] {
    let (wq, wd) = w;
    let mut acc = [f32x4_splat(0.0); R];
    // SAFETY: as `dot_rows`: every activation row holds `blocks` blocks and
    // the quad four rows of as many, so every load stays inside its slice.
    unsafe {
        for b in 0..wd.len() / QUAD {
            // Each row's values 0–15 and 16–31: magnitudes and sign masks.
            let xv: [[(v128, v128); 2]; R] = xs.map(|(xq, _, _)| {
                let xp = xq.as_ptr().add(b * BLOCK);
                [0, 1].map(|h| {
                    let x = v128_load(xp.add(16 * h) as *const v128);
                    (i8x16_abs(x), i8x16_shr(x, 7))
                })
            });
            let wp = wq.as_ptr().add(b * QUAD * BLOCK);
            let mut s = [[i32x4_splat(0); QUAD]; R];
            for j in 0..QUAD {
                for h in 0..2 {
                    let wv = v128_load(wp.add(j * BLOCK + 16 * h) as *const v128);
                    for r in 0..R {
                        let (magnitude, negative) = xv[r][h];
                        // w × sign(x): two's complement negation where x < 0.
                        let signed = i8x16_sub(v128_xor(wv, negative), negative);
                        s[r][j] = i32x4_relaxed_dot_i8x16_i7x16_add(signed, magnitude, s[r][j]);
                    }
                }
            }
            scale_into(&mut acc, xs, s, wd, b, 0);
        }
    }
    lanes(acc)
}

/// The same for q4_0 weights: the nibbles are the 7-bit operand as stored.
#[target_feature(enable = "relaxed-simd")]
pub(super) fn dot_rows_q4<const R: usize>(xs: [Row; R], w: (&[u8], &[f32])) -> [[f32; 4]; R] {
    const SIZE: usize = BLOCK / 2;
    let (wq, wd) = w;
    let mut acc = [f32x4_splat(0.0); R];
    // SAFETY: as above.
    unsafe {
        for b in 0..wd.len() / QUAD {
            // Values 0–15 and 16–31 of each row's block.
            let xv: [[v128; 2]; R] = xs.map(|(xq, _, _)| {
                let xp = xq.as_ptr().add(b * BLOCK);
                [0, 1].map(|h| v128_load(xp.add(16 * h) as *const v128))
            });
            let wp = wq.as_ptr().add(b * QUAD * SIZE);
            let mut s = [[i32x4_splat(0); QUAD]; R];
            for j in 0..QUAD {
                let packed = v128_load(wp.add(j * SIZE) as *const v128);
                let low = v128_and(packed, u8x16_splat(15));
                let high = u8x16_shr(packed, 4);
                for r in 0..R {
                    s[r][j] = i32x4_relaxed_dot_i8x16_i7x16_add(xv[r][0], low, s[r][j]);
                    s[r][j] = i32x4_relaxed_dot_i8x16_i7x16_add(xv[r][1], high, s[r][j]);
                }
            }
            // The nibbles are value + 8: take 8 × the activations' sum back out.
            scale_into(&mut acc, xs, s, wd, b, 8);
        }
    }
    lanes(acc)
}

/// Adds block `b`'s integer sums (less `offset` × the activation block's
/// sum), scaled by the weights' and the activations' scales, to `acc`.
#[inline(always)]
unsafe fn scale_into<const R: usize>(
    acc: &mut [v128; R],
    xs: [Row; R],
    s: [[v128; QUAD]; R],
    wd: &[f32],
    b: usize,
    offset: i32,
) {
    let scales = v128_load(wd.as_ptr().add(b * QUAD) as *const v128);
    for r in 0..R {
        let (_, xd, xsum) = xs[r];
        let mut sums = lane_sums(s[r]);
        if offset != 0 {
            sums = i32x4_sub(sums, i32x4_splat(offset * *xsum.get_unchecked(b)));
        }
        let scaled = f32x4_mul(scales, f32x4_splat(*xd.get_unchecked(b)));
        acc[r] = f32x4_add(acc[r], f32x4_mul(f32x4_convert_i32x4(sums), scaled));
    }
}

fn lanes<const R: usize>(acc: [v128; R]) -> [[f32; 4]; R] {
    acc.map(|a| {
        [
            f32x4_extract_lane::<0>(a),
            f32x4_extract_lane::<1>(a),
            f32x4_extract_lane::<2>(a),
            f32x4_extract_lane::<3>(a),
        ]
    })
}
