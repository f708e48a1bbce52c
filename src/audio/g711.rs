//! G.711 µ-law and A-law (ITU-T G.711), exactly as pipecat converts them: pipecat's
//! `pcm_to_ulaw`/`ulaw_to_pcm`/`pcm_to_alaw`/`alaw_to_pcm` call Python's `audioop`, whose
//! codecs are the classic Sun reference implementation (`g711.c`). 16-bit samples are
//! truncated to 14 bits (µ-law) or 13 bits (A-law) by an arithmetic shift before encoding, and
//! decoding returns the middle of each quantisation step, scaled back to 16 bits.

/// The two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (PCMU), the North American and Japanese telephone standard.
    Mu,
    /// A-law (PCMA), the European standard.
    A,
}

impl Law {
    /// Encodes 16-bit samples, one byte per sample.
    pub fn encode(self, samples: &[i16]) -> Vec<u8> {
        let f = match self {
            Law::Mu => ulaw_encode,
            Law::A => alaw_encode,
        };
        samples.iter().map(|&s| f(s)).collect()
    }

    /// Decodes one byte per sample to 16-bit samples.
    pub fn decode(self, codes: &[u8]) -> Vec<i16> {
        let table = match self {
            Law::Mu => &ULAW_DECODE,
            Law::A => &ALAW_DECODE,
        };
        codes.iter().map(|&c| table[usize::from(c)]).collect()
    }
}

/// Segment end points of µ-law, in 14-bit magnitudes plus the bias.
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Segment end points of A-law, in 13-bit magnitudes.
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
/// µ-law's bias (added to the magnitude so that every segment starts at a power of two).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude µ-law encodes; larger ones clip to it.
const ULAW_CLIP: i32 = 8159;

/// The first segment whose end point is at least `value`; 8 when there is none.
fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    ends.iter().position(|&end| value <= end).unwrap_or(8) as i32
}

/// One 16-bit sample as µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 2;
    let mask = if value < 0 {
        value = -value;
        0x7F
    } else {
        0xFF
    };
    let value = value.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(value, &ULAW_SEG_END);
    let code = if seg >= 8 {
        0x7F
    } else {
        (seg << 4) | ((value >> (seg + 1)) & 0xF)
    };
    (code ^ mask) as u8
}

/// One 16-bit sample as A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    let seg = segment(value, &ALAW_SEG_END);
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        (seg << 4) | ((value >> 1) & 0xF)
    } else {
        (seg << 4) | ((value >> seg) & 0xF)
    };
    (code ^ mask) as u8
}

/// One µ-law byte as a 16-bit sample.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// One A-law byte as a 16-bit sample.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

const ULAW_DECODE: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let u = !(code as u8) as i32;
        let t = (((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
        table[code] = if u & 0x80 != 0 {
            ULAW_BIAS - t
        } else {
            t - ULAW_BIAS
        } as i16;
        code += 1;
    }
    table
};

const ALAW_DECODE: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let a = (code as i32) ^ 0x55;
        let seg = (a & 0x70) >> 4;
        let mut t = (a & 0x0F) << 4;
        t = match seg {
            0 => t + 8,
            1 => t + 0x108,
            _ => (t + 0x108) << (seg - 1),
        };
        table[code] = if a & 0x80 != 0 { t } else { -t } as i16;
        code += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    /// pipecat's (audioop's) decoding of codes 0..=255, int16 little-endian.
    const PIPECAT_ULAW_DECODE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/telephony/g711_ulaw_decode.pcm"
    ));
    const PIPECAT_ALAW_DECODE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/telephony/g711_alaw_decode.pcm"
    ));
    /// pipecat's encoding of every int16 value from -32768 to 32767.
    const PIPECAT_ULAW_ENCODE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/telephony/g711_ulaw_encode.bin"
    ));
    const PIPECAT_ALAW_ENCODE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/telephony/g711_alaw_encode.bin"
    ));

    fn le16(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    fn ramp() -> Vec<i16> {
        (i16::MIN..=i16::MAX).collect()
    }

    #[test]
    fn all_256_codes_decode_as_pipecat_does() {
        let codes: Vec<u8> = (0..=255).collect();
        assert_eq!(Law::Mu.decode(&codes), le16(PIPECAT_ULAW_DECODE));
        assert_eq!(Law::A.decode(&codes), le16(PIPECAT_ALAW_DECODE));
        // Spot checks against the ITU-T tables: full scale and the smallest steps.
        assert_eq!((ulaw_decode(0x00), ulaw_decode(0x80)), (-32124, 32124));
        assert_eq!((ulaw_decode(0x7F), ulaw_decode(0xFF)), (0, 0));
        assert_eq!((ulaw_decode(0x7E), ulaw_decode(0xFE)), (-8, 8));
        assert_eq!((alaw_decode(0xD5), alaw_decode(0x55)), (8, -8));
        assert_eq!((alaw_decode(0xAA), alaw_decode(0x2A)), (32256, -32256));
    }

    #[test]
    fn every_16_bit_value_encodes_as_pipecat_does() {
        let ramp = ramp();
        let ulaw = Law::Mu.encode(&ramp);
        let alaw = Law::A.encode(&ramp);
        assert_eq!(ulaw.len(), 65_536);
        let first_diff =
            |ours: &[u8], theirs: &[u8]| ours.iter().zip(theirs).position(|(a, b)| a != b);
        assert_eq!(first_diff(&ulaw, PIPECAT_ULAW_ENCODE), None);
        assert_eq!(first_diff(&alaw, PIPECAT_ALAW_ENCODE), None);
        assert_eq!(ulaw, PIPECAT_ULAW_ENCODE);
        assert_eq!(alaw, PIPECAT_ALAW_ENCODE);
    }

    /// Re-encoding a decoded code gives the code back: every level is its own step's centre.
    /// µ-law has two zeros (0x7F, "negative zero", and 0xFF); both encode back as 0xFF.
    #[test]
    fn decoded_levels_encode_back_to_their_code() {
        for code in 0..=255u8 {
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(
                ulaw_encode(ulaw_decode(code)),
                expected,
                "µ-law {code:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        }
    }

    /// PCM → G.711 → PCM lands within the codec's own quantisation error. Each code stands
    /// for a contiguous range of 16-bit inputs (its quantisation cell) and decodes to a level
    /// inside that cell, within half the cell's width of every input in it, give or take the
    /// low bits the encoder shifts out first (2 for µ-law, 3 for A-law: the shift rounds
    /// negative samples down, so their cells sit off-centre by up to 3 or 7); only the two
    /// outermost cells, where the encoder clips, are wider.
    #[test]
    fn pcm_round_trips_within_the_quantisation_error() {
        for (law, shifted_out, finest) in [(Law::Mu, 3, 4), (Law::A, 7, 16)] {
            let ramp = ramp();
            let codes = law.encode(&ramp);
            let mut cells = [(i32::MAX, i32::MIN, 0u32); 256];
            for (&x, &c) in ramp.iter().zip(&codes) {
                let cell = &mut cells[usize::from(c)];
                *cell = (
                    cell.0.min(i32::from(x)),
                    cell.1.max(i32::from(x)),
                    cell.2 + 1,
                );
            }
            let (mut widest, mut narrowest, mut clipped) = (0, i32::MAX, 0);
            for (code, &(lo, hi, count)) in cells.iter().enumerate() {
                if count == 0 {
                    continue; // µ-law's negative zero, 0x7F, is never produced
                }
                assert_eq!(
                    hi - lo + 1,
                    count as i32,
                    "{law:?} {code:#04x}: cell not contiguous"
                );
                let level = i32::from(law.decode(&[code as u8])[0]);
                assert!(
                    (lo..=hi).contains(&level),
                    "{law:?} {code:#04x}: {level} outside {lo}..={hi}"
                );
                let width = hi - lo + 1;
                if lo == i32::from(i16::MIN) || hi == i32::from(i16::MAX) {
                    clipped += 1;
                    continue;
                }
                widest = widest.max(width);
                narrowest = narrowest.min(width);
                assert!(
                    (level - lo).max(hi - level) <= width / 2 + shifted_out,
                    "{law:?} {code:#04x}: level {level} in {lo}..={hi}"
                );
            }
            assert_eq!(clipped, 2, "{law:?}");
            // The top segment's cells are 1024 wide in both laws, so a loud sample is off by
            // up to 512 (plus the shifted-out bits); the finest, around zero, are 4 (µ-law)
            // and 16 (A-law) wide.
            assert_eq!((widest, narrowest), (1024, finest), "{law:?}");
        }
    }
}
