//! The dot products at the heart of the matmul: `R` activation rows with
//! four packed weight rows. SIMD128 in wasm; portable elsewhere (native
//! tests), with the same integer sums and scales. The relaxed-SIMD build's
//! versions are in `relaxed`.

use super::matmul::{Row, BLOCK, QUAD};

/// `R` activation rows with four packed weight rows of `SIZE`-byte blocks
/// (32: q8_0, 16: q4_0): four dot products a row. Each weight vector is
/// widened once and meets all `R` rows, so prefill loads and widens the
/// weights `R` times less often than row by row.
#[cfg(target_arch = "wasm32")]
pub(super) fn dot_rows<const SIZE: usize, const R: usize>(
    xs: [Row; R],
    w: (&[u8], &[f32]),
) -> [[f32; 4]; R] {
    use core::arch::wasm32::*;
    let (wq, wd) = w;
    // Adds weight vector `wv` (i16x8) times activation vector `i` of
    // every row to the rows' sums with weight row `j`.
    #[inline(always)]
    unsafe fn add_dot<const R: usize>(
        s: &mut [[v128; QUAD]; R],
        xv: &[[v128; 4]; R],
        j: usize,
        i: usize,
        wv: v128,
    ) {
        for (sr, xr) in s.iter_mut().zip(xv) {
            sr[j] = i32x4_add(sr[j], i32x4_dot_i16x8(wv, xr[i]));
        }
    }
    let mut acc = [f32x4_splat(0.0); R];
    // SAFETY: every activation row holds `blocks` blocks; the packed quad
    // holds four rows of as many blocks and scales (both constructors'
    // invariants), so every load below stays inside its slice.
    unsafe {
        for b in 0..wd.len() / QUAD {
            let xv: [[v128; 4]; R] = xs.map(|(xq, _, _)| {
                let xp = xq.as_ptr().add(b * BLOCK);
                [0, 1, 2, 3].map(|i| i16x8_load_extend_i8x8(xp.add(8 * i)))
            });
            let wp = wq.as_ptr().add(b * QUAD * SIZE);
            // s[r][j]: row r with weight row j, in four partial lanes.
            let mut s = [[i32x4_splat(0); 4]; R];
            for j in 0..QUAD {
                let wj = wp.add(j * SIZE);
                if SIZE == BLOCK {
                    // q8_0: values 0–7, 8–15, 16–23, 24–31, widened to i16.
                    for i in 0..4 {
                        add_dot(
                            &mut s,
                            &xv,
                            j,
                            i,
                            i16x8_load_extend_i8x8(wj.add(8 * i) as *const i8),
                        );
                    }
                } else {
                    // q4_0: the stored nibbles (value + 8, 0..=15); bytes
                    // 0–7 hold values 0–7 and 16–23, bytes 8–15 values 8–15
                    // and 24–31. Each half is loaded once.
                    for h in 0..2 {
                        let half = u16x8_load_extend_u8x8(wj.add(8 * h));
                        add_dot(&mut s, &xv, j, h, v128_and(half, i16x8_splat(15)));
                        add_dot(&mut s, &xv, j, h + 2, u16x8_shr(half, 4));
                    }
                }
            }
            let scales = v128_load(wd.as_ptr().add(b * QUAD) as *const v128);
            for r in 0..R {
                let mut sums = lane_sums(s[r]);
                let (_, xd, xsum) = xs[r];
                if SIZE != BLOCK {
                    sums = i32x4_sub(sums, i32x4_splat(8 * *xsum.get_unchecked(b)));
                }
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

/// Transpose-add: lane j of the result is `s[j]`'s four lanes summed.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
pub(super) fn lane_sums(s: [core::arch::wasm32::v128; 4]) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    let [s0, s1, s2, s3] = s;
    let s01 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(s0, s1),
        i32x4_shuffle::<2, 6, 3, 7>(s0, s1),
    );
    let s23 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(s2, s3),
        i32x4_shuffle::<2, 6, 3, 7>(s2, s3),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(s01, s23),
        i32x4_shuffle::<2, 3, 6, 7>(s01, s23),
    )
}

/// The portable dot products: the same integer sums and scales.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn dot_rows<const SIZE: usize, const R: usize>(
    xs: [Row; R],
    w: (&[u8], &[f32]),
) -> [[f32; 4]; R] {
    use super::matmul::Kind;
    let kind = if SIZE == BLOCK { Kind::Q8 } else { Kind::Q4 };
    let (wq, wd) = w;
    xs.map(|(xq, xd, _)| {
        let mut acc = [0f32; 4];
        for (b, &dx) in xd.iter().enumerate() {
            let xb = &xq[b * BLOCK..(b + 1) * BLOCK];
            for (j, a) in acc.iter_mut().enumerate() {
                let at = b * QUAD + j;
                let wb = kind.values(&wq[at * SIZE..(at + 1) * SIZE]);
                let s: i32 = xb.iter().zip(wb).map(|(&p, q)| p as i32 * q as i32).sum();
                *a += s as f32 * (wd[at] * dx);
            }
        }
        acc
    })
}
