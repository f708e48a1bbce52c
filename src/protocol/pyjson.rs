//! JSON laid out as Python's `json.dumps` writes it with its default arguments — the layout of
//! every JSON message pipecat sends (RTVI messages, the telephony serializers' events), so that
//! what voiceperf builds is byte for byte what pipecat would.

use std::io;

use serde::Serialize;

/// `value` as Python's `json.dumps` writes it with default arguments: `", "` and `": "`
/// separators, every character outside printable ASCII as `\uXXXX`, floats as `repr`.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Our message types have string keys and no fallible Serialize impls; writing to a Vec
    // cannot fail.
    if let Err(e) = value.serialize(&mut serializer) {
        unreachable!("serializing an RTVI message: {e}");
    }
    // The formatter escapes everything outside ASCII.
    String::from_utf8(out).unwrap_or_else(|e| unreachable!("non-ASCII JSON output: {e}"))
}

struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(python_float_repr(f64::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// A finite float as Python's `repr`: the shortest digits that round-trip (Rust's `{:e}` finds
/// the same ones), positional for decimal exponents -4 to 15, else `d.ddde±XX`.
fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        // serde_json writes null for these before asking the formatter; Python would write
        // NaN/Infinity, which is not JSON.
        return "null".into();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // value = 0.DIGITS × 10^point
    let point = exponent + 1;
    if -4 < point && point <= 16 {
        if point <= 0 {
            format!(
                "{sign}0.{}{digits}",
                "0".repeat(point.unsigned_abs() as usize)
            )
        } else if point as usize >= digits.len() {
            format!(
                "{sign}{digits}{}.0",
                "0".repeat(point as usize - digits.len())
            )
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{sign}{whole}.{fraction}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_python_repr() {
        for (value, python) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.3, "0.3"),
            (1.25, "1.25"),
            (18.0, "18.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (5.6743621826171875e-05, "5.6743621826171875e-05"),
            (0.10566425323486328, "0.10566425323486328"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (123456789.125, "123456789.125"),
            (-2.5e-7, "-2.5e-07"),
        ] {
            assert_eq!(python_float_repr(value), python, "{value:e}");
        }
    }

    #[test]
    fn strings_are_escaped_like_json_dumps() {
        assert_eq!(
            to_json("a\"b\\c\n\t\u{1}\u{7f}é✓𝄞/"),
            r#""a\"b\\c\n\t\u0001\u007f\u00e9\u2713\ud834\udd1e/""#
        );
        assert_eq!(
            to_json(&serde_json::json!({"a": [1, 2.5, true, null], "b": {}})),
            r#"{"a": [1, 2.5, true, null], "b": {}}"#
        );
    }
}
