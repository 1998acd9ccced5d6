//! GPT-2, the decoder-only model.

mod config;
mod load;
mod model;

// `Gpt2::forward` takes a `Capture`; the trainer still imports it from here.
pub use crate::capture::Capture;
pub use config::Config;
pub use load::{load, Layout};
pub use model::{Gpt2, KvCache, Output};
