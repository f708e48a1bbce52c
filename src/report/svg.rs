//! A small SVG chart kit: linear scales with round ticks, a plot frame with titled and
//! labelled axes, and the marks the report draws (lines, steps, points, bars, rules, bands),
//! each optionally carrying a hover tooltip (`<title>`). Colours come from CSS classes so the
//! page's stylesheet styles every chart; text is left to the browser's fonts.

use std::fmt::Write as _;

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A linear mapping from data values to a pixel range, with labelled ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    /// Lowest value shown.
    pub lo: f64,
    /// Highest value shown.
    pub hi: f64,
    /// Tick positions and their labels.
    pub ticks: Vec<(f64, String)>,
    /// Logarithmic (base 2) instead of linear.
    pub log2: bool,
}

impl Scale {
    /// A linear scale covering `min..=max` extended to round ticks (about `target` of them).
    /// Any finite range works, even one whose width does not fit a float (`-1e308..1e308`).
    pub fn nice(min: f64, max: f64, target: usize) -> Scale {
        let (mut min, mut max) = if min.is_finite() && max.is_finite() {
            (min.min(max), min.max(max))
        } else {
            (0.0, 1.0)
        };
        if span(min, max) < 1e-12 {
            let pad = if min.abs() > 1e-9 {
                min.abs() * 0.1
            } else {
                1.0
            };
            min -= pad;
            max += pad;
        }
        let target = target.clamp(2, MAX_TICKS);
        let step = nice_step(span(min, max) / target as f64);
        let lo = ((min / step).floor() * step).max(f64::MIN);
        let hi = ((max / step).ceil() * step).min(f64::MAX);
        let decimals = decimals_for(step);
        let count = steps_between(lo, hi, step)
            .round()
            .clamp(1.0, MAX_TICKS as f64) as usize;
        let ticks = (0..=count)
            .map(|i| {
                let v = (lo + i as f64 * step).clamp(lo, hi);
                // Avoid "-0.0".
                let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
                (v, tick_label(v, decimals))
            })
            .collect();
        Scale {
            lo,
            hi,
            ticks,
            log2: false,
        }
    }

    /// Like [`Scale::nice`] for counts: ticks are whole numbers.
    pub fn nice_count(max: f64, target: usize) -> Scale {
        let max = if max.is_finite() { max.max(1.0) } else { 1.0 };
        let step = nice_step(max / target.clamp(2, MAX_TICKS) as f64).max(1.0);
        let hi = ((max / step).ceil() * step).min(f64::MAX);
        let count = (hi / step).round().clamp(1.0, MAX_TICKS as f64) as usize;
        Scale {
            lo: 0.0,
            hi,
            ticks: (0..=count)
                .map(|i| (i as f64 * step, format!("{}", i as f64 * step)))
                .collect(),
            log2: false,
        }
    }

    /// A linear scale from `lo` to `hi` with the given ticks.
    pub fn with_ticks(lo: f64, hi: f64, ticks: Vec<(f64, String)>) -> Scale {
        Scale {
            lo,
            hi: if hi > lo { hi } else { lo + 1.0 },
            ticks,
            log2: false,
        }
    }

    /// A base-2 logarithmic scale over positive values with a tick at each given value.
    pub fn log2_values(values: &[f64]) -> Scale {
        let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
        let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let max = positive.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (min, max) = if min.is_finite() {
            (min, max)
        } else {
            (1.0, 2.0)
        };
        let pad = 0.25;
        Scale {
            lo: (min.log2() - pad).exp2(),
            hi: (max.log2() + pad).exp2(),
            ticks: positive.iter().map(|&v| (v, format_number(v))).collect(),
            log2: true,
        }
    }

    /// Where `value` falls between `from` (at `lo`) and `to` (at `hi`).
    pub fn map(&self, value: f64, from: f64, to: f64) -> f64 {
        let t = if self.log2 {
            let (lo, hi) = (self.lo.log2(), self.hi.log2());
            (value.max(f64::MIN_POSITIVE).log2() - lo) / (hi - lo)
        } else {
            // Halved first: the difference of two finite values can exceed the largest
            // float; halving is exact, so ordinary values map exactly as before.
            (value / 2.0 - self.lo / 2.0) / (self.hi / 2.0 - self.lo / 2.0)
        };
        from + t * (to - from)
    }
}

/// Most ticks an axis gets, whatever the data.
const MAX_TICKS: usize = 1000;

/// `hi - lo`, or the largest float when the difference of the two (finite) values does not
/// fit one (`1e308 - -1e308`).
pub fn span(lo: f64, hi: f64) -> f64 {
    let d = hi - lo;
    if d.is_nan() { 0.0 } else { d.min(f64::MAX) }
}

/// How many `step`s fit between `lo` and `hi`, without overflowing on the way.
pub fn steps_between(lo: f64, hi: f64, step: f64) -> f64 {
    hi / step - lo / step
}

/// A tick's label: `decimals` after the point, or powers of ten for huge values (no axis
/// label of 300 digits).
fn tick_label(v: f64, decimals: usize) -> String {
    if v.abs() >= 1e9 {
        format!("{v:e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    let raw = if raw.is_finite() && raw > 0.0 {
        raw
    } else {
        1.0
    };
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    // Past the largest float for a raw step near it.
    (nice * magnitude).min(f64::MAX)
}

/// Decimals needed to print multiples of `step` (a 1/2/5 step).
pub fn decimals_for(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    }
}

/// A number with no needless decimals (`4`, `2.5`, `0.125`).
pub fn format_number(v: f64) -> String {
    if v.abs() >= 1e9 {
        return format!("{v:e}");
    }
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Shape of a legend entry's swatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swatch {
    /// A short line.
    Line,
    /// A dashed line.
    Dashed,
    /// A dot.
    Dot,
    /// A filled box.
    Box,
    /// A cross.
    Cross,
    /// A ring.
    Ring,
    /// A triangle.
    Triangle,
}

/// One chart: a titled plot area with two axes; marks are added in data coordinates.
#[derive(Debug, Clone)]
pub struct Chart {
    id: String,
    title: String,
    x_label: String,
    y_label: String,
    x: Scale,
    y: Scale,
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    marks: String,
    overlays: String,
    legend: Vec<(String, String, Swatch)>,
    vrule_labels: usize,
}

/// Estimated width (units) of `text` at the 11-unit label size.
pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.6
}

impl Chart {
    /// A chart `id` (the SVG element id) titled `title`, 760×340 units, scaled to its box.
    pub fn new(id: &str, title: &str, x: Scale, x_label: &str, y: Scale, y_label: &str) -> Chart {
        Chart {
            id: id.to_string(),
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x,
            y,
            width: 760.0,
            height: 340.0,
            left: 64.0,
            right: 18.0,
            top: 40.0,
            bottom: 52.0,
            marks: String::new(),
            overlays: String::new(),
            legend: Vec::new(),
            vrule_labels: 0,
        }
    }

    /// Changes the drawing size (units; the SVG still scales to its box).
    pub fn size(mut self, width: f64, height: f64) -> Chart {
        self.width = width;
        self.height = height;
        self
    }

    /// Changes the left margin (room for long y tick labels).
    pub fn left_margin(mut self, left: f64) -> Chart {
        self.left = left;
        self
    }

    /// Horizontal position of a data value.
    pub fn px(&self, x: f64) -> f64 {
        self.x.map(x, self.left, self.width - self.right)
    }

    /// Vertical position of a data value.
    pub fn py(&self, y: f64) -> f64 {
        self.y.map(y, self.height - self.bottom, self.top)
    }

    /// The x scale.
    pub fn x_scale(&self) -> &Scale {
        &self.x
    }

    /// The y scale.
    pub fn y_scale(&self) -> &Scale {
        &self.y
    }

    /// Adds a legend entry.
    pub fn legend(&mut self, class: &str, label: &str, swatch: Swatch) {
        self.legend
            .push((class.to_string(), label.to_string(), swatch));
    }

    /// A polyline through the points.
    pub fn line(&mut self, points: &[(f64, f64)], class: &str) {
        if points.len() < 2 {
            return;
        }
        let mut d = String::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                self.px(x),
                self.py(y)
            );
        }
        let _ = write!(self.marks, r#"<path class="{class}" d="{d}"/>"#);
    }

    /// A step line: horizontal to each next x, then vertical (an empirical CDF).
    pub fn step_line(&mut self, points: &[(f64, f64)], class: &str) {
        if points.is_empty() {
            return;
        }
        let mut d = String::new();
        let mut previous_y = None;
        for &(x, y) in points {
            let (x, y) = (self.px(x), self.py(y));
            match previous_y {
                None => {
                    let _ = write!(d, "M{x:.1},{y:.1}");
                }
                Some(py) => {
                    let _ = write!(d, "L{x:.1},{py:.1}L{x:.1},{y:.1}");
                }
            }
            previous_y = Some(y);
        }
        let _ = write!(self.marks, r#"<path class="{class}" d="{d}"/>"#);
    }

    /// A point marker of the given shape.
    pub fn point(&mut self, x: f64, y: f64, swatch: Swatch, class: &str, tooltip: Option<&str>) {
        let (cx, cy) = (self.px(x), self.py(y));
        let title = tooltip
            .map(|t| format!("<title>{}</title>", escape(t)))
            .unwrap_or_default();
        let _ = match swatch {
            Swatch::Cross => write!(
                self.marks,
                r#"<path class="{class}" d="M{:.1},{:.1}l8,8m0,-8l-8,8">{title}</path>"#,
                cx - 4.0,
                cy - 4.0
            ),
            Swatch::Triangle => write!(
                self.marks,
                r#"<path class="{class}" d="M{cx:.1},{:.1}l5,9h-10z">{title}</path>"#,
                cy - 6.0
            ),
            Swatch::Ring => write!(
                self.marks,
                r#"<circle class="{class}" cx="{cx:.1}" cy="{cy:.1}" r="6">{title}</circle>"#
            ),
            _ => write!(
                self.marks,
                r#"<circle class="{class}" cx="{cx:.1}" cy="{cy:.1}" r="3.5">{title}</circle>"#
            ),
        };
    }

    /// A rectangle between two data corners.
    pub fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, class: &str, tooltip: Option<&str>) {
        let (a, b) = (self.px(x0), self.px(x1));
        let (c, d) = (self.py(y0), self.py(y1));
        let (x, w) = (a.min(b), (a - b).abs());
        let (y, h) = (c.min(d), (c - d).abs());
        let title = tooltip
            .map(|t| format!("<title>{}</title>", escape(t)))
            .unwrap_or_default();
        let _ = write!(
            self.marks,
            r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}">{title}</rect>"#,
            w.max(0.6),
            h
        );
    }

    /// A vertical rule at `x` across the plot, with an optional label at its top.
    pub fn vrule(&mut self, x: f64, class: &str, label: Option<&str>) {
        let px = self.px(x);
        let _ = write!(
            self.overlays,
            r#"<line class="{class}" x1="{px:.1}" x2="{px:.1}" y1="{:.1}" y2="{:.1}"/>"#,
            self.top,
            self.height - self.bottom
        );
        if let Some(label) = label {
            // Labels of neighbouring rules step down so they never overprint.
            let y = self.top + 11.0 + 13.0 * (self.vrule_labels % 4) as f64;
            self.vrule_labels += 1;
            let fits_right = px + 3.0 + text_width(label) <= self.width - self.right;
            let (x, anchor) = if fits_right {
                (px + 3.0, "start")
            } else {
                (px - 3.0, "end")
            };
            let _ = write!(
                self.overlays,
                r#"<text class="rule-label" text-anchor="{anchor}" x="{x:.1}" y="{y:.1}">{}</text>"#,
                escape(label)
            );
        }
    }

    /// A horizontal rule at `y` across the plot, with an optional label at its right end.
    pub fn hrule(&mut self, y: f64, class: &str, label: Option<&str>) {
        let py = self.py(y);
        let _ = write!(
            self.overlays,
            r#"<line class="{class}" x1="{:.1}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}"/>"#,
            self.left,
            self.width - self.right
        );
        if let Some(label) = label {
            let _ = write!(
                self.overlays,
                r#"<text class="rule-label" text-anchor="end" x="{:.1}" y="{:.1}">{}</text>"#,
                self.width - self.right - 3.0,
                py - 4.0,
                escape(label)
            );
        }
    }

    /// A shaded vertical band from `x0` to `x1` (drawn under the marks).
    pub fn band(&mut self, x0: f64, x1: f64, class: &str, tooltip: Option<&str>) {
        let (a, b) = (
            self.px(x0).max(self.left),
            self.px(x1).min(self.width - self.right),
        );
        if b <= a {
            return;
        }
        let title = tooltip
            .map(|t| format!("<title>{}</title>", escape(t)))
            .unwrap_or_default();
        let band = format!(
            r#"<rect class="{class}" x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}">{title}</rect>"#,
            self.top,
            b - a,
            self.height - self.top - self.bottom
        );
        self.marks.insert_str(0, &band);
    }

    /// A text label at a data position.
    pub fn label(&mut self, x: f64, y: f64, text: &str, class: &str) {
        let _ = write!(
            self.overlays,
            r#"<text class="{class}" x="{:.1}" y="{:.1}">{}</text>"#,
            self.px(x),
            self.py(y),
            escape(text)
        );
    }

    /// The finished `<svg>` element.
    pub fn render(&self) -> String {
        let (legend, legend_height) = self.render_legend();
        let (w, h) = (self.width, self.height + legend_height);
        let (l, r, t, b) = (
            self.left,
            self.width - self.right,
            self.top,
            self.height - self.bottom,
        );
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg id="{id}" class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title>"#,
            id = escape(&self.id),
            title = escape(&self.title),
        );
        let _ = write!(
            svg,
            r#"<text class="chart-title" x="{l:.1}" y="22">{}</text>"#,
            escape(&self.title)
        );
        // Grid and tick labels.
        for (v, text) in &self.y.ticks {
            let y = self.py(*v);
            if !(t - 0.5..=b + 0.5).contains(&y) {
                continue;
            }
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{l:.1}" x2="{r:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" text-anchor="end" x="{:.1}" y="{:.1}">{}</text>"#,
                l - 6.0,
                y + 4.0,
                escape(text)
            );
        }
        for (v, text) in &self.x.ticks {
            let x = self.px(*v);
            if !(l - 0.5..=r + 0.5).contains(&x) {
                continue;
            }
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{t:.1}" y2="{b:.1}"/><text class="tick" text-anchor="middle" x="{x:.1}" y="{:.1}">{}</text>"#,
                b + 16.0,
                escape(text)
            );
        }
        let clip = format!("{}-clip", escape(&self.id));
        let _ = write!(
            svg,
            r#"<clipPath id="{clip}"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/></clipPath><g clip-path="url(#{clip})">{}</g>{}"#,
            l - 7.0,
            t - 7.0,
            r - l + 14.0,
            b - t + 14.0,
            self.marks,
            self.overlays
        );
        let _ = write!(
            svg,
            r#"<line class="axis" x1="{l:.1}" x2="{r:.1}" y1="{b:.1}" y2="{b:.1}"/><line class="axis" x1="{l:.1}" x2="{l:.1}" y1="{t:.1}" y2="{b:.1}"/>"#
        );
        let _ = write!(
            svg,
            r#"<text class="axis-label" text-anchor="middle" x="{:.1}" y="{:.1}">{}</text>"#,
            (l + r) / 2.0,
            self.height - 12.0,
            escape(&self.x_label)
        );
        let _ = write!(
            svg,
            r#"<text class="axis-label" text-anchor="middle" transform="translate(14 {:.1}) rotate(-90)">{}</text>"#,
            (t + b) / 2.0,
            escape(&self.y_label)
        );
        svg.push_str(&legend);
        svg.push_str("</svg>");
        svg
    }

    /// Legend entries in rows under the x-axis label, wrapped to the chart's width; returns
    /// the SVG and the height it adds.
    fn render_legend(&self) -> (String, f64) {
        if self.legend.is_empty() {
            return (String::new(), 0.0);
        }
        let mut svg = String::new();
        let (start, end) = (self.left, self.width - self.right);
        let mut x = start;
        let mut y = self.height + 6.0;
        for (class, label, swatch) in &self.legend {
            let entry_width = 24.0 + text_width(label) + 14.0;
            if x > start && x + entry_width > end {
                x = start;
                y += 18.0;
            }
            let mark = match swatch {
                Swatch::Line => format!(
                    r#"<line class="{class}" x1="{x:.1}" x2="{:.1}" y1="{y}" y2="{y}"/>"#,
                    x + 16.0
                ),
                Swatch::Dashed => format!(
                    r#"<line class="{class}" stroke-dasharray="4 3" x1="{x:.1}" x2="{:.1}" y1="{y}" y2="{y}"/>"#,
                    x + 16.0
                ),
                Swatch::Box => format!(
                    r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="14" height="10"/>"#,
                    y - 5.0
                ),
                Swatch::Cross => format!(
                    r#"<path class="{class}" d="M{:.1},{:.1}l8,8m0,-8l-8,8"/>"#,
                    x + 4.0,
                    y - 4.0
                ),
                Swatch::Ring => format!(
                    r#"<circle class="{class}" cx="{:.1}" cy="{y}" r="5"/>"#,
                    x + 8.0
                ),
                Swatch::Triangle => format!(
                    r#"<path class="{class}" d="M{:.1},{:.1}l5,9h-10z"/>"#,
                    x + 8.0,
                    y - 6.0
                ),
                Swatch::Dot => format!(
                    r#"<circle class="{class}" cx="{:.1}" cy="{y}" r="3.5"/>"#,
                    x + 8.0
                ),
            };
            let _ = write!(
                svg,
                r#"<g class="legend">{mark}<text x="{:.1}" y="{:.1}">{}</text></g>"#,
                x + 22.0,
                y + 4.0,
                escape(label)
            );
            x += entry_width;
        }
        (svg, y - self.height + 14.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_finite_range_gets_a_few_finite_ticks() {
        for (min, max) in [
            (-1e308, 1e308),
            (-f64::MAX, f64::MAX),
            (0.0, f64::MAX),
            (f64::MAX, f64::MAX),
            (-f64::MAX, -f64::MAX),
            (5e-324, 1e-323),
            (f64::NAN, 1.0),
            (f64::NEG_INFINITY, f64::INFINITY),
        ] {
            let s = Scale::nice(min, max, 6);
            assert!(
                s.lo.is_finite() && s.hi.is_finite() && s.lo < s.hi,
                "{min}..{max}: {s:?}"
            );
            assert!((2..=20).contains(&s.ticks.len()), "{min}..{max}: {s:?}");
            for (v, label) in &s.ticks {
                assert!(v.is_finite() && label.len() < 30, "{min}..{max}: {s:?}");
            }
            let (a, b) = (
                s.map(min.max(s.lo), 0.0, 100.0),
                s.map(max.min(s.hi), 0.0, 100.0),
            );
            if min.is_finite() && max.is_finite() {
                assert!(
                    (0.0..=100.0).contains(&a) && (0.0..=100.0).contains(&b),
                    "{a} {b}"
                );
            }
        }
        let counts = Scale::nice_count(f64::MAX, 5);
        assert!(counts.hi.is_finite() && counts.ticks.len() <= 1001);
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        let s = Scale::nice(0.93, 1.27, 5);
        assert!(s.lo <= 0.93 && s.hi >= 1.27);
        let labels: Vec<&str> = s.ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(labels, ["0.9", "1.0", "1.1", "1.2", "1.3"]);
        let s = Scale::nice(0.0, 37.0, 5);
        let labels: Vec<&str> = s.ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(labels, ["0", "10", "20", "30", "40"]);
        let flat = Scale::nice(2.0, 2.0, 5);
        assert!(flat.lo < 2.0 && flat.hi > 2.0);
        let empty = Scale::nice(f64::INFINITY, f64::NEG_INFINITY, 5);
        assert_eq!((empty.lo, empty.hi), (0.0, 1.0));
        let negative = Scale::nice(-0.3, 0.2, 5);
        assert!(negative.ticks.iter().any(|(_, t)| t == "0.0"));
    }

    #[test]
    fn scales_map_linearly_and_logarithmically() {
        let s = Scale::with_ticks(0.0, 10.0, Vec::new());
        assert_eq!(s.map(5.0, 100.0, 200.0), 150.0);
        let log = Scale::log2_values(&[1.0, 4.0, 16.0]);
        let a = log.map(1.0, 0.0, 100.0);
        let b = log.map(4.0, 0.0, 100.0);
        let c = log.map(16.0, 0.0, 100.0);
        assert!(((b - a) - (c - b)).abs() < 1e-9);
        assert_eq!(log.ticks.len(), 3);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let mut chart = Chart::new(
            "c<1>",
            "A & B",
            Scale::nice(0.0, 1.0, 4),
            "x <s>",
            Scale::nice(0.0, 1.0, 4),
            "y",
        );
        chart.point(0.5, 0.5, Swatch::Dot, "p", Some("<script>"));
        let svg = chart.render();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("A &amp; B") && svg.contains("x &lt;s&gt;"));
    }

    #[test]
    fn numbers_drop_needless_decimals() {
        assert_eq!(format_number(4.0), "4");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(0.125), "0.125");
    }
}
