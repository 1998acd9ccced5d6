//! T5, the encoder-decoder model (v1.0 with ReLU, v1.1 / flan-t5 gated-GELU).

mod config;
mod load;
mod model;

pub use config::Config;
pub use load::load;
pub use model::{relative_position_bucket, DecoderCache, DecoderOutput, Encoded, MAX_LENGTH, T5};
