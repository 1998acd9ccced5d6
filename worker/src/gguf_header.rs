//! A GGUF file's header checked before candle's reader sees it: every count,
//! length, shape, type and offset is held to the bytes the file really has,
//! so a file that lies (a 100 GB tensor, a count of 2⁶⁴, an alignment of 0,
//! shapes whose product overflows) is refused with a sentence before any
//! allocation trusts it.

use candle_core::{bail, Result};

/// The tensor types candle reads, by GGUF id: (name, elements per block,
/// bytes per block).
fn tensor_type(id: u32) -> Option<(&'static str, u64, u64)> {
    Some(match id {
        0 => ("f32", 1, 4),
        1 => ("f16", 1, 2),
        2 => ("q4_0", 32, 18),
        3 => ("q4_1", 32, 20),
        6 => ("q5_0", 32, 22),
        7 => ("q5_1", 32, 24),
        8 => ("q8_0", 32, 34),
        9 => ("q8_1", 32, 40),
        10 => ("q2_k", 256, 84),
        11 => ("q3_k", 256, 110),
        12 => ("q4_k", 256, 144),
        13 => ("q5_k", 256, 176),
        14 => ("q6_k", 256, 210),
        15 => ("q8_k", 256, 292),
        30 => ("bf16", 1, 2),
        _ => return None,
    })
}

/// The names llama.cpp gives the types candle does not read, for the sentence.
fn unsupported_type_name(id: u32) -> &'static str {
    match id {
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        23 => "IQ4_XS",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        34 => "TQ1_0",
        35 => "TQ2_0",
        _ => "unknown",
    }
}

const DEFAULT_ALIGNMENT: u64 = 32;
const MAX_DIMS: u32 = 4;
const MAX_DEPTH: usize = 4;

/// Checks the whole header of a GGUF file and where each tensor's bytes lie.
pub fn check(bytes: &[u8]) -> Result<()> {
    let mut r = Reader {
        bytes,
        at: 4,
        wide: true,
    };
    let version = r.u32()?;
    if !(1..=3).contains(&version) {
        bail!("this GGUF file is version {version}; the lab reads versions 1 to 3")
    }
    r.wide = version >= 2;
    let tensors = r.count()?;
    let entries = r.count()?;
    let mut alignment = DEFAULT_ALIGNMENT;
    for _ in 0..entries {
        let key_len = r.count()?;
        let key = r.take(key_len)?;
        let is_alignment = key == b"general.alignment";
        let kind = r.u32()?;
        if is_alignment {
            if let Some(value) = r.unsigned(kind)? {
                if value == 0 || value > 1 << 20 {
                    bail!("this GGUF file is damaged: its general.alignment is {value}")
                }
                alignment = value;
                continue;
            }
        }
        r.skip_value(kind, 0)?;
    }
    let mut spans = Vec::new();
    for _ in 0..tensors {
        let name_len = r.count()?;
        let name = String::from_utf8_lossy(r.take(name_len)?).into_owned();
        let dims = r.u32()?;
        if dims > MAX_DIMS {
            bail!("this GGUF file is damaged: tensor {name} claims {dims} dimensions")
        }
        let mut elements: u64 = 1;
        for _ in 0..dims {
            let d = r.count()?;
            elements = elements.checked_mul(d).ok_or_else(|| {
                candle_core::Error::msg(format!(
                    "this GGUF file is damaged: tensor {name} claims an impossible shape"
                ))
            })?;
        }
        let type_id = r.u32()?;
        let Some((type_name, block, block_bytes)) = tensor_type(type_id) else {
            bail!(
                "tensor {name} is stored as {} (GGUF type {type_id}), a type the lab cannot read: use f32, f16, q8_0, q4_0 or a k-quant",
                unsupported_type_name(type_id)
            )
        };
        // An empty tensor is no model's, and candle would read it through a
        // dangling pointer (an unaligned slice of zero blocks).
        if elements == 0 {
            bail!("this GGUF file is damaged: tensor {name} has no values")
        }
        if !elements.is_multiple_of(block) {
            bail!("this GGUF file is damaged: tensor {name} has {elements} values, not whole {type_name} blocks of {block}")
        }
        let offset = r.u64()?;
        // No overflow past this: a size over the file's is refused below.
        let size = (elements / block).saturating_mul(block_bytes);
        spans.push((name, offset, size));
    }
    let data_start = (r.at as u64).div_ceil(alignment) * alignment;
    let file_len = bytes.len() as u64;
    for (name, offset, size) in spans {
        let end = data_start
            .checked_add(offset)
            .and_then(|start| start.checked_add(size));
        match end {
            Some(end) if end <= file_len => {}
            _ => bail!(
                "this GGUF file is cut short or damaged: tensor {name} needs {size} bytes past the end of the file ({file_len} bytes)"
            ),
        }
    }
    Ok(())
}

/// A cursor over a GGUF header that refuses to read past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    wide: bool,
}

impl Reader<'_> {
    fn take(&mut self, n: u64) -> Result<&[u8]> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                candle_core::Error::msg("this GGUF file is damaged or cut short: its header runs past the end of the file")
            })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// Counts, lengths and dimensions: u32 in GGUF version 1, u64 after.
    fn count(&mut self) -> Result<u64> {
        if self.wide {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// An integer value as candle reads `general.alignment` (unsigned or
    /// non-negative signed up to 32 bits); `None` for other types, which
    /// candle ignores in favour of the default.
    fn unsigned(&mut self, kind: u32) -> Result<Option<u64>> {
        let b = |r: &mut Self, n: u64| -> Result<Vec<u8>> { Ok(r.take(n)?.to_vec()) };
        Ok(match kind {
            0 => Some(b(self, 1)?[0] as u64),
            1 => Some((b(self, 1)?[0] as i8).max(0) as u64),
            2 => Some(u16::from_le_bytes(b(self, 2)?.try_into().expect("2")) as u64),
            3 => Some(i16::from_le_bytes(b(self, 2)?.try_into().expect("2")).max(0) as u64),
            4 => Some(self.u32()? as u64),
            5 => Some((self.u32()? as i32).max(0) as u64),
            _ => None,
        })
    }

    fn skip_value(&mut self, kind: u32, depth: usize) -> Result<()> {
        let size = match kind {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 => {
                let len = self.count()?;
                self.take(len)?;
                return Ok(());
            }
            9 if depth < MAX_DEPTH => {
                let inner = self.u32()?;
                let n = self.count()?;
                for _ in 0..n {
                    self.skip_value(inner, depth + 1)?;
                }
                return Ok(());
            }
            _ => bail!("this GGUF file is damaged: a metadata value of unknown type {kind}"),
        };
        self.take(size)?;
        Ok(())
    }
}
