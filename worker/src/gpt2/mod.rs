//! GPT-2, the decoder-only model.

mod config;
mod load;
mod model;

pub use config::{Activation, Config};
pub use load::{load, Layout};
pub use model::{last_logits, Capture, Gpt2, KvCache, Output};
