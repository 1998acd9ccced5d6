//! GPT-2, the decoder-only model.

mod config;
mod load;
mod model;

pub use crate::capture::Capture;
pub use config::{Activation, Config};
pub use load::{load, Layout};
pub use model::{last_logits, Gpt2, KvCache, Output};
