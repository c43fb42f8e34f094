//! A JPEG's EXIF orientation (the camera held sideways or upside down): phones store the
//! pixels as the sensor read them and say in tag 0x0112 how to turn them for display, and
//! browsers show the file itself turned that way, so its preview must be turned the same.
//!
//! The EXIF bytes are what zune-jpeg kept of the APP1 segment (at most 64 KiB, starting at the
//! TIFF header); only the first directory's entries are read, each index checked against the
//! bytes, so a malformed or hostile segment means "as stored", never a panic or a long walk.

/// How stored pixels are turned for display, EXIF's values 1 to 8 (1: as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Orientation(u16);

impl Orientation {
    pub(crate) const AS_STORED: Orientation = Orientation(1);

    /// Whether width and height trade places (a quarter turn, or a flip about a diagonal).
    pub(crate) fn swaps_sides(self) -> bool {
        matches!(self.0, 5..=8)
    }

    /// The stored pixel `(x, y)` that shows at `(out_x, out_y)` of the turned image, for a
    /// stored image `width` × `height`.
    pub(crate) fn source(
        self,
        out_x: usize,
        out_y: usize,
        width: usize,
        height: usize,
    ) -> (usize, usize) {
        let (right, bottom) = (width - 1, height - 1);
        match self.0 {
            2 => (right - out_x, out_y),          // mirrored left to right
            3 => (right - out_x, bottom - out_y), // upside down
            4 => (out_x, bottom - out_y),         // mirrored top to bottom
            5 => (out_y, out_x),                  // flipped about the main diagonal
            6 => (out_y, bottom - out_x),         // a quarter turn clockwise
            7 => (right - out_y, bottom - out_x), // flipped about the other diagonal
            8 => (right - out_y, out_x),          // a quarter turn anticlockwise
            _ => (out_x, out_y),
        }
    }
}

const ORIENTATION_TAG: u16 = 0x0112;
const SHORT: u16 = 3;
const ENTRY_BYTES: usize = 12;

/// The orientation EXIF `exif` (from its TIFF header on) states; as stored when it states
/// none, or nothing that can be read.
pub(crate) fn of_exif(exif: &[u8]) -> Orientation {
    read(exif).filter(|o| (1..=8).contains(o)).map_or(Orientation::AS_STORED, Orientation)
}

fn read(exif: &[u8]) -> Option<u16> {
    let little = match exif.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let bytes: [u8; 2] = exif.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if little { u16::from_le_bytes(bytes) } else { u16::from_be_bytes(bytes) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let bytes: [u8; 4] = exif.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(bytes) } else { u32::from_be_bytes(bytes) })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let directory = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(directory)?);
    // `directory` is within the bytes (its count was read), so no sum below overflows; and
    // at most as many entries are read as the bytes hold, whatever the count claims.
    let first = directory + 2;
    (0..entries)
        .map(|i| first + i * ENTRY_BYTES)
        .take_while(|entry| entry + ENTRY_BYTES <= exif.len())
        .find_map(|entry| {
            let orientation = u16_at(entry)? == ORIENTATION_TAG
                && u16_at(entry + 2)? == SHORT
                && u32_at(entry + 4)? == 1;
            orientation.then(|| u16_at(entry + 8)).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TIFF header and one directory: `entries` (tag, type, count, value), little- or
    /// big-endian.
    fn exif(little: bool, entries: &[(u16, u16, u32, u16)]) -> Vec<u8> {
        let u16b = |v: u16| if little { v.to_le_bytes() } else { v.to_be_bytes() };
        let u32b = |v: u32| if little { v.to_le_bytes() } else { v.to_be_bytes() };
        let mut out = if little { b"II".to_vec() } else { b"MM".to_vec() };
        out.extend(u16b(42));
        out.extend(u32b(8));
        out.extend(u16b(entries.len() as u16));
        for &(tag, kind, count, value) in entries {
            out.extend(u16b(tag));
            out.extend(u16b(kind));
            out.extend(u32b(count));
            out.extend(u16b(value));
            out.extend([0, 0]);
        }
        out.extend([0; 4]); // no next directory
        out
    }

    #[test]
    fn the_orientation_tag_is_read_in_either_byte_order_among_others() {
        let others = (0x010f, 2, 6, 0); // Make, a string elsewhere
        for little in [true, false] {
            let six = exif(little, &[others, (ORIENTATION_TAG, SHORT, 1, 6)]);
            assert_eq!(of_exif(&six), Orientation(6), "little-endian: {little}");
        }
    }

    #[test]
    fn anything_unreadable_is_as_stored() {
        let good = exif(true, &[(ORIENTATION_TAG, SHORT, 1, 8)]);
        assert_eq!(of_exif(&good), Orientation(8));
        for cut in 0..good.len() - 6 {
            let read = of_exif(&good[..cut]);
            assert_eq!(read, Orientation::AS_STORED, "cut at {cut}");
        }
        let out_of_range = exif(true, &[(ORIENTATION_TAG, SHORT, 1, 9)]);
        let wrong_type = exif(true, &[(ORIENTATION_TAG, 4, 1, 6)]);
        let mut far = exif(true, &[(ORIENTATION_TAG, SHORT, 1, 6)]);
        far[4..8].copy_from_slice(&u32::MAX.to_le_bytes()); // the directory past the end
        let mut many = exif(false, &[(ORIENTATION_TAG, SHORT, 1, 6)]);
        many[8..10].copy_from_slice(&u16::MAX.to_be_bytes()); // more entries than bytes
        many[10..12].copy_from_slice(&[0, 0]); // and the one there is not the tag
        for bytes in [&out_of_range, &wrong_type, &far, &many, &b"Exif".to_vec()] {
            assert_eq!(of_exif(bytes), Orientation::AS_STORED, "{bytes:?}");
        }
    }

    #[test]
    fn each_orientation_turns_a_2_by_3_image_as_exif_says() {
        // Stored:  a b    Each case: the stored letters as the display shows them, row by row.
        //          c d
        //          e f
        let stored = ["ab", "cd", "ef"];
        let cases: [(u16, &[&str]); 8] = [
            (1, &["ab", "cd", "ef"]),
            (2, &["ba", "dc", "fe"]),
            (3, &["fe", "dc", "ba"]),
            (4, &["ef", "cd", "ab"]),
            (5, &["ace", "bdf"]),
            (6, &["eca", "fdb"]),
            (7, &["fdb", "eca"]),
            (8, &["bdf", "ace"]),
        ];
        for (value, shown) in cases {
            let o = Orientation(value);
            let (w, h) = if o.swaps_sides() { (3, 2) } else { (2, 3) };
            let turned: Vec<String> = (0..h)
                .map(|y| {
                    (0..w)
                        .map(|x| {
                            let (sx, sy) = o.source(x, y, 2, 3);
                            stored[sy].as_bytes()[sx] as char
                        })
                        .collect()
                })
                .collect();
            assert_eq!(turned, shown, "orientation {value}");
        }
    }
}
