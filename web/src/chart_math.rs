//! Axis arithmetic for the charts: a readable scale and its ticks.

/// A linear scale from a value range onto pixels, with "nice" round ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    pub min: f64,
    pub max: f64,
    pub ticks: Vec<f64>,
}

impl Scale {
    /// Covers `values` (and zero for bar-like charts) with about `count` round ticks.
    pub fn nice(values: impl IntoIterator<Item = f64>, include_zero: bool, count: usize) -> Scale {
        let mut low = f64::INFINITY;
        let mut high = f64::NEG_INFINITY;
        for v in values.into_iter().filter(|v| v.is_finite()) {
            low = low.min(v);
            high = high.max(v);
        }
        if !low.is_finite() {
            (low, high) = (0.0, 1.0);
        }
        if include_zero {
            low = low.min(0.0);
            high = high.max(0.0);
        }
        if (high - low).abs() < f64::EPSILON {
            let pad = if high == 0.0 { 1.0 } else { high.abs() * 0.1 };
            (low, high) = (low - pad, high + pad);
        }
        let step = nice_step((high - low) / count.max(1) as f64);
        let min = (low / step).floor() * step;
        let max = (high / step).ceil() * step;
        let mut ticks = Vec::new();
        let mut t = min;
        while t <= max + step * 0.5 {
            // Round away binary noise (0.30000000000000004).
            ticks.push((t / step).round() * step);
            t += step;
        }
        Scale { min, max, ticks }
    }

    /// Where `value` falls on a pixel range (`from` is the pixel of `min`).
    pub fn at(&self, value: f64, from: f64, to: f64) -> f64 {
        if self.max == self.min {
            return from;
        }
        from + (value - self.min) / (self.max - self.min) * (to - from)
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A number for an axis or a label: at most 3 decimals, no trailing zeros.
pub fn label(value: f64) -> String {
    if value.abs() >= 1e6 {
        return format!("{:.2}M", value / 1e6);
    }
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[f64], zero: bool, expected: (f64, f64, usize)) {
        let s = Scale::nice(values.iter().copied(), zero, 5);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(s.min, expected.0) && close(s.max, expected.1), "{values:?}: {s:?}");
        assert_eq!(s.ticks.len(), expected.2, "{values:?}: {s:?}");
        assert!(values.iter().all(|v| *v >= s.min - 1e-9 && *v <= s.max + 1e-9));
    }

    #[test]
    fn scales_cover_their_values_with_round_ticks() {
        check(&[3.0, 97.0], true, (0.0, 100.0, 6));
        check(&[0.93, 0.99], false, (0.92, 1.0, 5));
        check(&[], true, (0.0, 1.0, 6));
        check(&[5.0, 5.0], false, (4.4, 5.6, 7));
        check(&[-12.0, 40.0], true, (-20.0, 40.0, 4));
        let s = Scale::nice([0.0, 10.0], true, 5);
        assert_eq!(s.at(5.0, 100.0, 0.0), 50.0);
        assert_eq!(label(0.30000000000000004), "0.3");
        assert_eq!(label(1234567.0), "1.23M");
        assert_eq!(label(-0.0001), "0");
    }
}
