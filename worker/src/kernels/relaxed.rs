//! q4_0 dot products with relaxed SIMD's int8 dot product, for builds with
//! `+relaxed-simd`. Exact: the stored nibbles (value + 8) are 0..=15, within
//! the 7-bit operand's range, so every browser gives the same integer sums.

use core::arch::wasm32::*;

use super::matmul::{Row, BLOCK, QUAD};

/// `R` activation rows with four packed q4_0 weight rows: four dot products
/// a row, as `dot_rows` gives them.
pub(super) fn dot_rows_q4<const R: usize>(xs: [Row; R], w: (&[u8], &[f32])) -> [[f32; 4]; R] {
    const SIZE: usize = BLOCK / 2;
    let (wq, wd) = w;
    let mut acc = [f32x4_splat(0.0); R];
    // SAFETY: as `dot_rows`: every activation row holds `blocks` blocks and
    // the quad four rows of as many, so every load stays inside its slice.
    unsafe {
        for b in 0..wd.len() / QUAD {
            // Values 0–15 and 16–31 of each row's block.
            let xv: [[v128; 2]; R] = xs.map(|(xq, _, _)| {
                let xp = xq.as_ptr().add(b * BLOCK);
                [
                    v128_load(xp as *const v128),
                    v128_load(xp.add(16) as *const v128),
                ]
            });
            let wp = wq.as_ptr().add(b * QUAD * SIZE);
            let mut s = [[i32x4_splat(0); 4]; R];
            for j in 0..QUAD {
                let packed = v128_load(wp.add(j * SIZE) as *const v128);
                let low = v128_and(packed, u8x16_splat(15));
                let high = u8x16_shr(packed, 4);
                for r in 0..R {
                    s[r][j] = i32x4_relaxed_dot_i8x16_i7x16_add(xv[r][0], low, s[r][j]);
                    s[r][j] = i32x4_relaxed_dot_i8x16_i7x16_add(xv[r][1], high, s[r][j]);
                }
            }
            let scales = v128_load(wd.as_ptr().add(b * QUAD) as *const v128);
            for r in 0..R {
                let (_, xd, xsum) = xs[r];
                let sums = i32x4_sub(
                    super::matmul::lane_sums(s[r]),
                    i32x4_splat(8 * *xsum.get_unchecked(b)),
                );
                let scaled = f32x4_mul(scales, f32x4_splat(*xd.get_unchecked(b)));
                acc[r] = f32x4_add(acc[r], f32x4_mul(f32x4_convert_i32x4(sums), scaled));
            }
        }
    }
    acc.map(|a| {
        [
            f32x4_extract_lane::<0>(a),
            f32x4_extract_lane::<1>(a),
            f32x4_extract_lane::<2>(a),
            f32x4_extract_lane::<3>(a),
        ]
    })
}
