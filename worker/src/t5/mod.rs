//! T5, the encoder-decoder model (v1.0 with ReLU, v1.1 / flan-t5 gated-GELU).

mod attention;
mod block;
mod config;
mod load;
mod model;

pub use attention::relative_position_bucket;
pub use block::DecoderCache;
pub use config::Config;
pub use load::load;
pub use model::{DecoderOutput, Encoded, MAX_LENGTH, T5};
