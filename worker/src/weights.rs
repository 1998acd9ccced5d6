//! Tensors by name from a GGUF or a safetensors file, whatever the model.
//!
//! Everything is read from bytes in memory, so the browser (a downloaded
//! `ArrayBuffer`) and the CLI (a file read whole) take the same path.

use std::collections::HashMap;
use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{bail, Device, Result, Tensor};

/// The file formats a model can come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Gguf,
    Safetensors,
}

/// The tensors of one model file plus its GGUF metadata (empty for safetensors).
pub struct TensorStore {
    pub format: FileFormat,
    pub metadata: HashMap<String, gguf_file::Value>,
    tensors: HashMap<String, QTensor>,
    /// Elements of the tensors taken with [`TensorStore::take_shaped`].
    pub taken_parameters: u64,
}

impl TensorStore {
    /// Reads a GGUF or safetensors file. With `convert_to`, every 2-D weight
    /// is converted to that type where its rows allow it (see
    /// [`quantize_weight`]): plain f32 files get quantized, and `f32` runs a
    /// quantized file on its exact dequantized values.
    pub fn from_bytes(bytes: &[u8], convert_to: Option<GgmlDType>) -> Result<Self> {
        let mut store = match detect_format(bytes)? {
            FileFormat::Gguf => Self::read_gguf(bytes)?,
            FileFormat::Safetensors => Self::read_safetensors(bytes)?,
        };
        if let Some(dtype) = convert_to {
            for tensor in store.tensors.values_mut() {
                if tensor.dtype() != dtype {
                    let values = tensor.dequantize(&Device::Cpu)?;
                    *tensor = quantize_weight(&values, Some(dtype))?;
                }
            }
        }
        Ok(store)
    }

    fn read_gguf(bytes: &[u8]) -> Result<Self> {
        // candle's reader trusts the header's counts, shapes and alignment.
        crate::gguf_header::check(bytes)?;
        let mut reader = Cursor::new(bytes);
        let content = gguf_file::Content::read(&mut reader)
            .map_err(|e| candle_core::Error::msg(format!("this GGUF file is damaged: {e}")))?;
        let mut tensors = HashMap::new();
        for name in content.tensor_infos.keys() {
            let tensor = content
                .tensor(&mut reader, name, &Device::Cpu)
                .map_err(|e| {
                    candle_core::Error::msg(format!("tensor {name} cannot be read: {e}"))
                })?;
            tensors.insert(name.clone(), tensor);
        }
        Ok(Self {
            format: FileFormat::Gguf,
            metadata: content.metadata,
            tensors,
            taken_parameters: 0,
        })
    }

    fn read_safetensors(bytes: &[u8]) -> Result<Self> {
        let loaded = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
            candle_core::Error::msg(format!("this safetensors file is damaged: {e}"))
        })?;
        let mut tensors = HashMap::new();
        for (name, tensor) in loaded {
            let tensor = tensor.to_dtype(candle_core::DType::F32)?;
            tensors.insert(name, QTensor::quantize(&tensor, GgmlDType::F32)?);
        }
        Ok(Self {
            format: FileFormat::Safetensors,
            metadata: HashMap::new(),
            tensors,
            taken_parameters: 0,
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.tensors.keys()
    }

    pub fn get(&self, name: &str) -> Result<&QTensor> {
        match self.tensors.get(name) {
            Some(t) => Ok(t),
            None => bail!("the model file has no tensor named {name}"),
        }
    }

    /// Removes a tensor, so that the store does not keep a second copy.
    pub fn take(&mut self, name: &str) -> Result<QTensor> {
        match self.tensors.remove(name) {
            Some(t) => Ok(t),
            None => bail!("the model file has no tensor named {name}"),
        }
    }

    /// Takes a tensor the model needs in shape `dims`, counting its parameters.
    pub fn take_shaped(&mut self, name: &str, dims: &[usize]) -> Result<QTensor> {
        let t = self.take(name)?;
        if t.shape().dims() != dims {
            bail!(
                "tensor {name} has shape {:?}, the config wants {dims:?}",
                t.shape().dims()
            )
        }
        self.taken_parameters += t.shape().elem_count() as u64;
        Ok(t)
    }

    /// As [`TensorStore::take_shaped`], as plain f32 (norms, biases, tables).
    pub fn take_f32(&mut self, name: &str, dims: &[usize]) -> Result<Tensor> {
        self.take_shaped(name, dims)?.dequantize(&Device::Cpu)
    }

    /// Parameter count and how many tensors of each type, sorted by type name.
    pub fn summary(&self) -> (u64, Vec<(String, usize)>) {
        let mut types: HashMap<String, usize> = HashMap::new();
        let mut params = 0u64;
        for t in self.tensors.values() {
            params += t.shape().elem_count() as u64;
            *types.entry(dtype_name(t.dtype()).to_string()).or_default() += 1;
        }
        let mut types: Vec<_> = types.into_iter().collect();
        types.sort();
        (params, types)
    }

    /// An integer metadata value, whatever integer type the writer chose.
    pub fn metadata_usize(&self, key: &str) -> Result<usize> {
        use gguf_file::Value as V;
        let value = match self.metadata.get(key) {
            Some(v) => v,
            None => bail!("the GGUF metadata has no {key}"),
        };
        let n: i128 = match value {
            V::U8(v) => *v as i128,
            V::I8(v) => *v as i128,
            V::U16(v) => *v as i128,
            V::I16(v) => *v as i128,
            V::U32(v) => *v as i128,
            V::I32(v) => *v as i128,
            V::U64(v) => *v as i128,
            V::I64(v) => *v as i128,
            other => bail!("GGUF metadata {key} should be an integer, found {other:?}"),
        };
        usize::try_from(n)
            .map_err(|_| candle_core::Error::msg(format!("GGUF metadata {key} is negative")))
    }

    pub fn metadata_f64(&self, key: &str) -> Option<f64> {
        match self.metadata.get(key)? {
            gguf_file::Value::F32(v) => Some(*v as f64),
            gguf_file::Value::F64(v) => Some(*v),
            _ => None,
        }
    }

    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        match self.metadata.get(key)? {
            gguf_file::Value::String(s) => Some(s),
            _ => None,
        }
    }
}

fn detect_format(bytes: &[u8]) -> Result<FileFormat> {
    if bytes.starts_with(b"GGUF") {
        return Ok(FileFormat::Gguf);
    }
    // safetensors: an 8-byte little-endian header length, then a JSON object.
    if bytes.len() > 9 && bytes[8] == b'{' {
        let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        if header_len < bytes.len() as u64 {
            return Ok(FileFormat::Safetensors);
        }
    }
    if bytes.is_empty() {
        bail!("the model file is empty")
    }
    if bytes.starts_with(b"<") || bytes.starts_with(b"{") {
        bail!("this is not a model file: it looks like a web page or JSON (a wrong URL?)")
    }
    bail!("this is not a GGUF or safetensors model file")
}

/// Quantizes a weight to `dtype` when its row length is a multiple of the
/// type's block; otherwise keeps it f32 (small and 1-D tensors stay exact).
pub fn quantize_weight(tensor: &Tensor, dtype: Option<GgmlDType>) -> Result<QTensor> {
    let row = tensor.dims().last().copied().unwrap_or(1);
    match dtype {
        Some(dtype) if tensor.rank() == 2 && row % dtype.block_size() == 0 => {
            QTensor::quantize(tensor, dtype)
        }
        _ => QTensor::quantize(tensor, GgmlDType::F32),
    }
}

/// Parses the names users type (`q8_0`, `Q4_K`, `f16`, ...).
pub fn parse_dtype(name: &str) -> Result<GgmlDType> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "f32" => GgmlDType::F32,
        "f16" => GgmlDType::F16,
        "q8_0" => GgmlDType::Q8_0,
        "q4_0" => GgmlDType::Q4_0,
        "q4_k" => GgmlDType::Q4K,
        "q6_k" => GgmlDType::Q6K,
        other => bail!("unknown tensor type {other}: use f32, f16, q8_0, q4_0, q4_k or q6_k"),
    })
}

pub fn dtype_name(dtype: GgmlDType) -> &'static str {
    match dtype {
        GgmlDType::F32 => "f32",
        GgmlDType::F16 => "f16",
        GgmlDType::BF16 => "bf16",
        GgmlDType::Q4_0 => "q4_0",
        GgmlDType::Q4_1 => "q4_1",
        GgmlDType::Q5_0 => "q5_0",
        GgmlDType::Q5_1 => "q5_1",
        GgmlDType::Q8_0 => "q8_0",
        GgmlDType::Q8_1 => "q8_1",
        GgmlDType::Q2K => "q2_k",
        GgmlDType::Q3K => "q3_k",
        GgmlDType::Q4K => "q4_k",
        GgmlDType::Q5K => "q5_k",
        GgmlDType::Q6K => "q6_k",
        GgmlDType::Q8K => "q8_k",
    }
}
