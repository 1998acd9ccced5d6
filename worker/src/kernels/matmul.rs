//! The quantized matmul: q8_0 and q4_0 weights times f32 activations,
//! the arithmetic of candle's path for them (activations quantized to q8_0 blocks,
//! integer dot products, one scale product a block), laid out for wasm SIMD.
//!
//! Why not candle's: in wasm, its dot product converts two f16 scales a
//! block in software, reloads the activation block for every weight row, and
//! sums each output's lanes at the end. Here the weights are repacked at load:
//! the same block of four consecutive rows sits together (128 bytes, then
//! their four f32 scales), so one activation block meets four rows, the four
//! sums land in the four lanes of one vector, and the weights stream through
//! memory in one pass. Natively candle's AVX kernels stay in use;
//! [`QuantMatrix`] runs there only in tests, through the portable dot product.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{bail, Result};
use half::f16;

/// Values a q8_0 block holds, and so the unit of every scale.
pub const BLOCK: usize = 32;
/// Weight rows packed together.
pub(super) const QUAD: usize = 4;
/// Activation rows that meet each widened weight vector together.
const ROWS: usize = 2;

/// Every matrix gets its own id, so that a helper thread holding part of
/// it can be told which one to use.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Activations as q8_0 blocks: signed bytes, one f32 scale a [`BLOCK`].
struct Activations {
    cols: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
    /// Each block's sum of quants: q4_0 values are stored plus 8, and
    /// `8 × sum` takes that back out of a dot product.
    sums: Vec<i32>,
}

/// One activation row: quants, scales, block sums.
pub(super) type Row<'a> = (&'a [i8], &'a [f32], &'a [i32]);

impl Activations {
    /// Quantizes `xs` (`rows × cols`) as candle quantizes activations for a
    /// q8_0 matmul: scale = max |x| / 127 rounded to f16, x / scale rounded.
    fn quantize(xs: &[f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(xs.len(), rows * cols);
        debug_assert_eq!(cols % BLOCK, 0);
        let mut quants = vec![0i8; rows * cols];
        let mut scales = Vec::with_capacity(rows * cols / BLOCK);
        for (block, out) in xs.chunks_exact(BLOCK).zip(quants.chunks_exact_mut(BLOCK)) {
            scales.push(f16::from_f32(quantize_block(block, out)).to_f32());
        }
        let sums = quants
            .chunks_exact(BLOCK)
            .map(|b| b.iter().map(|&q| q as i32).sum())
            .collect();
        Self {
            cols,
            quants,
            scales,
            sums,
        }
    }

    fn blocks(&self) -> usize {
        self.cols / BLOCK
    }

    fn row(&self, r: usize) -> Row<'_> {
        let b = self.blocks();
        (
            &self.quants[r * self.cols..(r + 1) * self.cols],
            &self.scales[r * b..(r + 1) * b],
            &self.sums[r * b..(r + 1) * b],
        )
    }
}

/// One block of 32 activations as candle quantizes it: `d = max |x| / 127`,
/// each value `round(x / d)` (half away from zero); returns `d`.
#[cfg(not(target_arch = "wasm32"))]
fn quantize_block(block: &[f32], out: &mut [i8]) -> f32 {
    let amax = block.iter().fold(0f32, |m, x| m.max(x.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (q, &x) in out.iter_mut().zip(block) {
        *q = (x * id).round() as i8;
    }
    d
}

/// The same in SIMD128: wasm's scalar `max` and `round` are calls (their
/// NaN and tie rules differ from the instructions'), which cost prefill
/// a tenth of its time. `pmax` skips NaN as `f32::max` does; the rounding
/// is `trunc` plus one step away from zero where the fraction is ≥ 0.5.
#[cfg(target_arch = "wasm32")]
fn quantize_block(block: &[f32], out: &mut [i8]) -> f32 {
    use core::arch::wasm32::*;
    assert!(block.len() == BLOCK && out.len() == BLOCK);
    // SAFETY: both slices hold exactly 32 values (asserted above).
    unsafe {
        let xs: [v128; 8] =
            std::array::from_fn(|i| v128_load(block.as_ptr().add(4 * i) as *const v128));
        let mut m = xs
            .iter()
            .fold(f32x4_splat(0.0), |m, &x| f32x4_pmax(m, f32x4_abs(x)));
        m = f32x4_pmax(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
        m = f32x4_pmax(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
        let d = f32x4_extract_lane::<0>(m) / 127.0;
        let id = f32x4_splat(if d != 0.0 { 1.0 / d } else { 0.0 });
        let (half, one, sign) = (f32x4_splat(0.5), f32x4_splat(1.0), f32x4_splat(-0.0));
        let q = xs.map(|x| {
            let y = f32x4_mul(x, id);
            let t = f32x4_trunc(y);
            let away = f32x4_ge(f32x4_abs(f32x4_sub(y, t)), half);
            let step = v128_or(v128_and(y, sign), one);
            i32x4_trunc_sat_f32x4(f32x4_add(t, v128_and(away, step)))
        });
        let lo = i8x16_narrow_i16x8(
            i16x8_narrow_i32x4(q[0], q[1]),
            i16x8_narrow_i32x4(q[2], q[3]),
        );
        let hi = i8x16_narrow_i16x8(
            i16x8_narrow_i32x4(q[4], q[5]),
            i16x8_narrow_i32x4(q[6], q[7]),
        );
        v128_store(out.as_mut_ptr() as *mut v128, lo);
        v128_store(out.as_mut_ptr().add(16) as *mut v128, hi);
        d
    }
}

/// How a weight block's 32 values are stored: bytes per block, and the
/// integer dot product of one block with an activation block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// 32 signed bytes.
    Q8,
    /// 16 bytes: value j is `(byte[j] & 15) - 8`, value j + 16 is `(byte[j] >> 4) - 8`.
    Q4,
}

impl Kind {
    pub(super) fn of(dtype: GgmlDType) -> Option<Self> {
        match dtype {
            GgmlDType::Q8_0 => Some(Self::Q8),
            GgmlDType::Q4_0 => Some(Self::Q4),
            _ => None,
        }
    }

    pub(super) const fn bytes(self) -> usize {
        match self {
            Self::Q8 => BLOCK,
            Self::Q4 => BLOCK / 2,
        }
    }

    /// One block's values.
    pub(super) fn values(self, block: &[u8]) -> [i8; BLOCK] {
        std::array::from_fn(|j| match self {
            Self::Q8 => block[j] as i8,
            Self::Q4 if j < BLOCK / 2 => (block[j] & 15) as i8 - 8,
            Self::Q4 => (block[j - BLOCK / 2] >> 4) as i8 - 8,
        })
    }
}

/// A q8_0 or q4_0 weight `[out, in]`, repacked: for each four rows and each
/// block, the four rows' blocks one after the other, and their four scales
/// as f32. Rows past `out` (up to a multiple of four) are zeros.
pub struct QuantMatrix {
    pub(super) id: u64,
    pub(super) kind: Kind,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) quants: Vec<u8>,
    pub(super) scales: Vec<f32>,
    /// No q8_0 value is −128: the relaxed-SIMD kernel's sign trick holds
    /// (read only by the relaxed-SIMD build).
    #[cfg_attr(
        not(all(target_arch = "wasm32", feature = "relaxed-simd")),
        allow(dead_code)
    )]
    pub(super) narrow: bool,
}

impl QuantMatrix {
    /// `None` for other types (those stay with candle).
    pub fn from_qtensor(w: &QTensor) -> Result<Option<Self>> {
        let Some(kind) = Kind::of(w.dtype()) else {
            return Ok(None);
        };
        let (rows, cols) = w.shape().dims2()?;
        let data = w.data()?;
        // On disk each block is its f16 scale, then its values.
        let on_disk = 2 + kind.bytes();
        if cols % BLOCK != 0 || data.len() != rows * cols / BLOCK * on_disk {
            bail!(
                "a {kind:?} weight of {rows}×{cols} holds {} bytes",
                data.len()
            )
        }
        let blocks = cols / BLOCK;
        let padded = rows.div_ceil(QUAD) * QUAD;
        let mut quants = vec![0u8; padded * blocks * kind.bytes()];
        let mut scales = vec![0f32; padded * blocks];
        for (i, block) in data.chunks_exact(on_disk).enumerate() {
            let (row, b) = (i / blocks, i % blocks);
            let at = (row / QUAD * blocks + b) * QUAD + row % QUAD;
            scales[at] = f16::from_le_bytes([block[0], block[1]]).to_f32();
            quants[at * kind.bytes()..(at + 1) * kind.bytes()].copy_from_slice(&block[2..]);
        }
        Ok(Some(Self {
            id: Self::new_id(),
            narrow: narrow(kind, &quants),
            kind,
            rows,
            cols,
            quants,
            scales,
        }))
    }

    pub(super) fn new_id() -> u64 {
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Groups of four rows (the last may be partly padding).
    pub fn quads(&self) -> usize {
        self.rows.div_ceil(QUAD)
    }

    pub fn out_dim(&self) -> usize {
        self.rows
    }

    pub fn in_dim(&self) -> usize {
        self.cols
    }

    /// `R` activation rows with four packed weight rows (`w`, from
    /// [`Self::quad`]): four dot products a row.
    fn dot<const R: usize>(&self, xs: [Row; R], w: (&[u8], &[f32])) -> [[f32; 4]; R] {
        // The page loads this build only where relaxed SIMD validates.
        #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
        match self.kind {
            Kind::Q8 if self.narrow => return super::relaxed::dot_rows_q8(xs, w),
            Kind::Q4 => return super::relaxed::dot_rows_q4(xs, w),
            Kind::Q8 => {}
        }
        match self.kind {
            Kind::Q8 => super::dot::dot_rows::<{ BLOCK }, R>(xs, w),
            Kind::Q4 => super::dot::dot_rows::<{ BLOCK / 2 }, R>(xs, w),
        }
    }

    /// Four rows' blocks and scales, packed.
    fn quad(&self, q: usize) -> (&[u8], &[f32]) {
        let per = self.cols / BLOCK * QUAD;
        let bytes = per * self.kind.bytes();
        (
            &self.quants[q * bytes..(q + 1) * bytes],
            &self.scales[q * per..(q + 1) * per],
        )
    }

    /// Rows `ids` as f32, one after the other: the embedding lookup.
    pub fn rows(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let size = self.kind.bytes();
        let mut out = Vec::with_capacity(ids.len() * self.cols);
        for &id in ids {
            let id = id as usize;
            if id >= self.rows {
                bail!("token id {id} is outside the table of {} rows", self.rows)
            }
            let (quants, scales) = self.quad(id / QUAD);
            for b in 0..self.cols / BLOCK {
                let at = b * QUAD + id % QUAD;
                let values = self.kind.values(&quants[at * size..(at + 1) * size]);
                out.extend(values.iter().map(|&q| q as f32 * scales[at]));
            }
        }
        Ok(out)
    }

    /// `xs` (`m × in`) times the weight transposed: `m × out`, row-major.
    pub fn matmul(&self, xs: &[f32], m: usize) -> Result<Vec<f32>> {
        self.matmul_quads(xs, m, 0..self.quads())
    }

    /// The output columns of the rows in `quads` only: `m × cols`, where
    /// `cols` counts those rows (the padding of the last quad left out).
    /// Two threads each take a range and their outputs interleave.
    pub fn matmul_quads(&self, xs: &[f32], m: usize, quads: Range<usize>) -> Result<Vec<f32>> {
        if quads.end > self.quads() || quads.start > quads.end {
            bail!("quads {quads:?} of a matrix of {}", self.quads())
        }
        if xs.len() != m * self.cols {
            bail!(
                "a matmul of {} values as {m} rows with a weight {} wide",
                xs.len(),
                self.cols
            )
        }
        let first = quads.start * QUAD;
        let n = (quads.end * QUAD).min(self.rows).saturating_sub(first);
        let lhs = Activations::quantize(xs, m, self.cols);
        let mut out = vec![0f32; m * n];
        // Four weight rows at a time against the activation rows, `ROWS`
        // at a time: the four weight rows stay in L1 while the activations
        // pass, and each weight vector serves `ROWS` rows once widened.
        for q in quads {
            let col = q * QUAD - first;
            let take = (n - col).min(QUAD);
            let w = self.quad(q);
            let mut put = |r: usize, sums: [f32; 4]| {
                out[r * n + col..r * n + col + take].copy_from_slice(&sums[..take]);
            };
            let mut r = 0;
            while r + ROWS <= m {
                let rows: [Row; ROWS] = std::array::from_fn(|i| lhs.row(r + i));
                for (i, s) in self.dot(rows, w).into_iter().enumerate() {
                    put(r + i, s);
                }
                r += ROWS;
            }
            for r in r..m {
                let [sums] = self.dot([lhs.row(r)], w);
                put(r, sums);
            }
        }
        Ok(out)
    }
}

/// Whether every value of `quants` is within −127..=127 (q4_0's always are).
pub(super) fn narrow(kind: Kind, quants: &[u8]) -> bool {
    kind == Kind::Q4 || !quants.contains(&0x80)
}
