//! What the messages say about a model: where its files are, which load
//! holds it, and what the worker found in it.

use serde::{Deserialize, Serialize};

use crate::{Arch, RequestId};

/// Where the files of a model are. URLs are relative to the page or absolute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    pub weights_url: String,
    /// Needed for files that do not carry their config (safetensors, HF-named GGUF).
    pub config_url: Option<String>,
    /// `None`: the page's own tokenizer for the architecture found in the weights.
    pub tokenizer_url: Option<String>,
    /// The weights file's size in bytes, when the catalog knows it exactly:
    /// a file of another size is refused before it is read.
    #[serde(default)]
    pub weights_bytes: Option<u64>,
    /// The weights file's sha256 (hex), when the catalog has it.
    #[serde(default)]
    pub weights_sha256: Option<String>,
}

/// Names one held model: its family and the load that brought it in. The
/// worker refuses a request for a model that a newer load has replaced
/// instead of running it on the newer one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub arch: Arch,
    /// The id of the [`Request::Load`] that loaded it.
    pub load: RequestId,
}

/// A model the worker holds: where its files came from and what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldModel {
    /// The id of the load that brought it in.
    pub load: RequestId,
    /// Milliseconds from the load request to the model held: download (or
    /// cache read), building the model, the tokenizer.
    pub load_ms: f64,
    pub spec: ModelSpec,
    pub info: ModelInfo,
    pub files: Vec<FileSource>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileSource {
    pub url: String,
    pub bytes: u64,
    /// Read from the browser's cache rather than downloaded.
    pub from_cache: bool,
    /// Now kept in the cache for the next visit.
    pub stored: bool,
    /// Why the browser would not keep it (a full storage quota), as a
    /// sentence: the model loaded all the same.
    #[serde(default)]
    pub not_stored: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedFile {
    pub url: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub arch: Arch,
    pub parameters: u64,
    /// Of `parameters`, the token and position embedding tables.
    pub embedding_parameters: u64,
    /// Blocks in all stacks: for T5, encoder plus decoder.
    pub layers: usize,
    /// Blocks of the encoder (0 for a decoder-only model).
    pub encoder_layers: usize,
    pub hidden_size: usize,
    pub vocab_size: usize,
    pub context_length: usize,
    /// Tensor type name -> number of tensors of that type.
    pub tensor_types: Vec<(String, usize)>,
    /// Bytes of memory the model holds once built, measured by the worker's
    /// allocator (dequantized tables included), not read off the file size.
    pub memory_bytes: u64,
    /// Milliseconds to build the model from its file's bytes.
    pub build_ms: f64,
}
