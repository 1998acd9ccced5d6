//! A packed matrix cut in two by rows, for a second thread: the rows from a
//! quad on travel to the helper as bytes, and the helper's matmul of them
//! gives exactly the output columns the whole matrix would (the same code
//! runs on the same blocks).

use candle_core::{bail, Result};

use super::matmul::{narrow, Kind, QuantMatrix, BLOCK, QUAD};

/// Bytes before the blocks: id, kind, rows, cols, first row.
const HEADER: usize = 8 + 1 + 4 + 4 + 4;

impl QuantMatrix {
    /// Rows `from_quad × 4 ..` as bytes for [`QuantMatrix::from_part`].
    pub fn part_bytes(&self, from_quad: usize) -> Vec<u8> {
        let from_quad = from_quad.min(self.quads());
        let per_quad = self.cols / BLOCK * QUAD;
        let first = (from_quad * QUAD).min(self.rows);
        let rows = self.rows - first;
        let quants = &self.quants[from_quad * per_quad * self.kind.bytes()..];
        let scales = &self.scales[from_quad * per_quad..];
        let mut out = Vec::with_capacity(HEADER + quants.len() + scales.len() * 4);
        out.extend(self.id.to_le_bytes());
        out.push(match self.kind {
            Kind::Q8 => 8,
            Kind::Q4 => 4,
        });
        for n in [rows, self.cols, first] {
            out.extend((n as u32).to_le_bytes());
        }
        out.extend(quants);
        out.extend(scales.iter().flat_map(|s| s.to_le_bytes()));
        out
    }

    /// The rows [`QuantMatrix::part_bytes`] wrote, as a matrix of their own
    /// that keeps the whole matrix's id; also the first row's index.
    pub fn from_part(bytes: &[u8]) -> Result<(Self, usize)> {
        if bytes.len() < HEADER {
            bail!("a matrix part of {} bytes has no header", bytes.len())
        }
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let id = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        let kind = match bytes[8] {
            8 => Kind::Q8,
            4 => Kind::Q4,
            other => bail!("a matrix part of unknown kind {other}"),
        };
        let (rows, cols, first) = (word(9), word(13), word(17));
        let blocks = rows.div_ceil(QUAD) * QUAD * (cols / BLOCK);
        let quant_bytes = blocks * kind.bytes();
        if cols % BLOCK != 0 || bytes.len() != HEADER + quant_bytes + blocks * 4 {
            bail!(
                "a matrix part of {rows}×{cols} cannot be {} bytes",
                bytes.len()
            )
        }
        let (quants, scales) = bytes[HEADER..].split_at(quant_bytes);
        let matrix = Self {
            id,
            narrow: narrow(kind, quants),
            kind,
            rows,
            cols,
            quants: quants.to_vec(),
            scales: scales
                .chunks_exact(4)
                .map(|s| f32::from_le_bytes(s.try_into().unwrap()))
                .collect(),
        };
        Ok((matrix, first))
    }
}
