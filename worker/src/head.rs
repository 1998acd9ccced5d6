//! A classification head trained on pooled features: multinomial logistic
//! regression with an L2 penalty (optionally after one hidden ReLU layer),
//! full-batch Adam on standardized features, seeded. Small enough to train
//! on a few hundred examples in about a second in the Web Worker.

use crate::sampling::{argmax, softmax, Rng};
use protocol::classify::HeadFile;
pub use protocol::classify::HeadSettings;

/// One dense layer, `out × in` row-major.
#[derive(Clone, Debug)]
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Dense {
    fn new(inputs: usize, outputs: usize, rng: Option<&mut Rng>) -> Self {
        let scale = (1.0 / inputs as f32).sqrt();
        let w = match rng {
            Some(rng) => (0..inputs * outputs)
                .map(|_| (rng.next_f64() as f32 * 2.0 - 1.0) * scale)
                .collect(),
            None => vec![0.0; inputs * outputs],
        };
        Self {
            w,
            b: vec![0.0; outputs],
            inputs,
            outputs,
        }
    }

    fn forward(&self, x: &[f32]) -> Vec<f32> {
        (0..self.outputs)
            .map(|o| {
                let row = &self.w[o * self.inputs..(o + 1) * self.inputs];
                self.b[o] + row.iter().zip(x).map(|(w, x)| w * x).sum::<f32>()
            })
            .collect()
    }
}

/// A trained head: the features' standardization, then its layers.
#[derive(Clone, Debug)]
pub struct Head {
    mean: Vec<f32>,
    scale: Vec<f32>,
    hidden: Option<Dense>,
    out: Dense,
}

impl Head {
    /// Class probabilities for one feature vector.
    pub fn probabilities(&self, features: &[f32]) -> Vec<f32> {
        let x = self.standardize(features);
        let h = match &self.hidden {
            Some(layer) => relu(layer.forward(&x)),
            None => x,
        };
        softmax(&self.out.forward(&h), 1.0)
    }

    pub fn predict(&self, features: &[f32]) -> usize {
        argmax(&self.probabilities(features))
    }

    fn standardize(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| (v - m) / s)
            .collect()
    }
}

impl Head {
    /// The head's weights in `file`'s form (the rest of `file` is the
    /// caller's: what model, layer and pooling they were trained on).
    pub fn to_file(&self, file: &mut HeadFile) {
        file.dim = self.mean.len();
        file.mean = self.mean.clone();
        file.scale = self.scale.clone();
        file.hidden = self.hidden.as_ref().map(Dense::to_file);
        file.out = self.out.to_file();
    }

    /// The head an exported file holds ([`HeadFile::from_json`] checked
    /// that its shapes fit together).
    pub fn from_file(file: &HeadFile) -> Head {
        Head {
            mean: file.mean.clone(),
            scale: file.scale.clone(),
            hidden: file.hidden.as_ref().map(Dense::from_file),
            out: Dense::from_file(&file.out),
        }
    }
}

impl Dense {
    fn to_file(&self) -> protocol::classify::Dense {
        protocol::classify::Dense {
            inputs: self.inputs,
            outputs: self.outputs,
            w: self.w.clone(),
            b: self.b.clone(),
        }
    }

    fn from_file(d: &protocol::classify::Dense) -> Dense {
        Dense {
            w: d.w.clone(),
            b: d.b.clone(),
            inputs: d.inputs,
            outputs: d.outputs,
        }
    }
}

/// Trains a head on `x` (rows of features) with labels `y` in `0..classes`.
pub fn train(x: &[Vec<f32>], y: &[usize], classes: usize, settings: &HeadSettings) -> Head {
    let dim = x.first().map_or(0, Vec::len);
    let n = x.len().max(1) as f32;
    let mean: Vec<f32> = (0..dim)
        .map(|d| x.iter().map(|r| r[d]).sum::<f32>() / n)
        .collect();
    let scale: Vec<f32> = (0..dim)
        .map(|d| {
            let var = x.iter().map(|r| (r[d] - mean[d]).powi(2)).sum::<f32>() / n;
            var.sqrt().max(1e-6)
        })
        .collect();
    let mut rng = Rng::new(settings.seed);
    let hidden = settings
        .hidden
        .map(|units| Dense::new(dim, units, Some(&mut rng)));
    let width = settings.hidden.unwrap_or(dim);
    let mut head = Head {
        mean,
        scale,
        hidden,
        out: Dense::new(width, classes, None),
    };
    let xs: Vec<Vec<f32>> = x.iter().map(|r| head.standardize(r)).collect();
    let mut adam = Adam::new(&head);
    for _ in 0..settings.steps {
        let grads = gradients(&head, &xs, y, settings.l2);
        adam.step(&mut head, &grads, settings.learning_rate);
    }
    head
}

/// The gradient of the mean cross-entropy plus the L2 penalty: output
/// weights and biases, then the hidden layer's (empty without one).
fn gradients(head: &Head, xs: &[Vec<f32>], y: &[usize], l2: f32) -> Vec<Vec<f32>> {
    let n = xs.len().max(1) as f32;
    let mut g_out_w = vec![0.0; head.out.w.len()];
    let mut g_out_b = vec![0.0; head.out.b.len()];
    let (mut g_hid_w, mut g_hid_b) = match &head.hidden {
        Some(h) => (vec![0.0; h.w.len()], vec![0.0; h.b.len()]),
        None => (Vec::new(), Vec::new()),
    };
    for (x, &label) in xs.iter().zip(y) {
        let (h, pre) = match &head.hidden {
            Some(layer) => {
                let pre = layer.forward(x);
                (relu(pre.clone()), Some(pre))
            }
            None => (x.clone(), None),
        };
        let mut delta = softmax(&head.out.forward(&h), 1.0);
        delta[label] -= 1.0;
        let width = head.out.inputs;
        for (o, d) in delta.iter().enumerate() {
            g_out_b[o] += d / n;
            for i in 0..width {
                g_out_w[o * width + i] += d * h[i] / n;
            }
        }
        if let (Some(layer), Some(pre)) = (&head.hidden, pre) {
            for (u, &p) in pre.iter().enumerate() {
                if p <= 0.0 {
                    continue;
                }
                let back: f32 = delta
                    .iter()
                    .enumerate()
                    .map(|(o, d)| d * head.out.w[o * width + u])
                    .sum();
                g_hid_b[u] += back / n;
                for i in 0..layer.inputs {
                    g_hid_w[u * layer.inputs + i] += back * x[i] / n;
                }
            }
        }
    }
    for (g, w) in g_out_w.iter_mut().zip(&head.out.w) {
        *g += l2 * w;
    }
    if let Some(layer) = &head.hidden {
        for (g, w) in g_hid_w.iter_mut().zip(&layer.w) {
            *g += l2 * w;
        }
    }
    vec![g_out_w, g_out_b, g_hid_w, g_hid_b]
}

struct Adam {
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: i32,
}

impl Adam {
    fn new(head: &Head) -> Self {
        let sizes = [
            head.out.w.len(),
            head.out.b.len(),
            head.hidden.as_ref().map_or(0, |h| h.w.len()),
            head.hidden.as_ref().map_or(0, |h| h.b.len()),
        ];
        Self {
            m: sizes.iter().map(|&s| vec![0.0; s]).collect(),
            v: sizes.iter().map(|&s| vec![0.0; s]).collect(),
            t: 0,
        }
    }

    fn step(&mut self, head: &mut Head, grads: &[Vec<f32>], lr: f32) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        self.t += 1;
        let (c1, c2) = (1.0 - B1.powi(self.t), 1.0 - B2.powi(self.t));
        let mut slots: Vec<&mut Vec<f32>> = vec![&mut head.out.w, &mut head.out.b];
        if let Some(h) = &mut head.hidden {
            slots.push(&mut h.w);
            slots.push(&mut h.b);
        }
        for (k, param) in slots.into_iter().enumerate() {
            for (i, p) in param.iter_mut().enumerate() {
                let g = grads[k][i];
                self.m[k][i] = B1 * self.m[k][i] + (1.0 - B1) * g;
                self.v[k][i] = B2 * self.v[k][i] + (1.0 - B2) * g * g;
                *p -= lr * (self.m[k][i] / c1) / ((self.v[k][i] / c2).sqrt() + 1e-8);
            }
        }
    }
}

fn relu(mut v: Vec<f32>) -> Vec<f32> {
    v.iter_mut().for_each(|x| *x = x.max(0.0));
    v
}
