//! Native training of small GPT-2 and T5 models with candle's autograd, for
//! issue #5: pretraining on text (GPT-2 next-token, T5 span corruption),
//! then multi-task fine-tuning, exported as GGUF + `config.json` that load
//! through the worker's `Session::load`. Native only: not part of the page.

pub mod batch;
pub mod corpus;
pub mod data;
pub mod eval;
pub mod export;
pub mod from_scratch;
pub mod fused;
pub mod gpt2;
pub mod init;
pub mod model;
pub mod nn;
pub mod run;
pub mod ship;
pub mod sources;
pub mod spans;
pub mod t5;
pub mod train;
pub mod vocab;
