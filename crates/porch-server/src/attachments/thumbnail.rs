//! Making an image's preview, pure: a PNG or JPEG in, a PNG at most `edge_px` on its longer
//! edge out, or why not. The image's dimensions are read from its header and checked against
//! `pixels_max` before anything is decoded, so a decompression bomb (a few bytes declaring
//! huge dimensions) costs no memory. Decoded by `png` and `zune-jpeg` (the decoders of the
//! `image` family, without the rest of it), scaled by averaging each output pixel's box of
//! source pixels, turned as a JPEG's EXIF orientation says (`orientation`: as browsers show
//! the file), and encoded again by `png`: the preview holds no metadata of the original.

use std::io::{BufRead, Seek};

use png::{BitDepth, ColorType, Transformations};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::orientation::{self, Orientation};

/// Whether Porch makes previews of this type: the two formats screenshots and photos come in.
/// GIF (animation) and WebP get none: clients show their name and link.
pub(crate) fn previewable(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg")
}

/// Why an image has no preview, in words for the error's message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoPreview {
    Unsupported,
    TooManyPixels { width: u64, height: u64, pixels_max: u64 },
    Undecodable(String),
}

impl std::fmt::Display for NoPreview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoPreview::Unsupported => write!(f, "Porch makes previews of PNG and JPEG images only"),
            NoPreview::TooManyPixels { width, height, pixels_max } => write!(
                f,
                "the image declares {width} × {height} pixels, more than attachment_preview_source_pixels_max ({pixels_max})"
            ),
            NoPreview::Undecodable(why) => write!(f, "the image could not be decoded ({why})"),
        }
    }
}

/// Pixels, 8 bits a sample, `channels` samples a pixel (1 gray, 2 gray and alpha, 3 RGB, 4
/// RGBA), row after row.
struct Image {
    width: usize,
    height: usize,
    channels: usize,
    samples: Vec<u8>,
}

/// The preview of `source` (a file of `content_type`, read as the decoder goes, so memory
/// holds its pixels but never the file), a PNG.
pub(crate) fn make(
    source: impl BufRead + Seek,
    content_type: &str,
    pixels_max: u64,
    edge_px: u32,
) -> Result<Vec<u8>, NoPreview> {
    let (image, orientation) = match content_type {
        "image/png" => (decode_png(source, pixels_max)?, Orientation::AS_STORED),
        "image/jpeg" => decode_jpeg(source, pixels_max)?,
        _ => return Err(NoPreview::Unsupported),
    };
    let (width, height) = fit(image.width, image.height, edge_px as usize);
    encode(&turn(scale(&image, width, height), orientation))
}

/// The image turned as its orientation says it is shown (the preview is small: turning it
/// costs less than turning the source).
fn turn(image: Image, orientation: Orientation) -> Image {
    if orientation == Orientation::AS_STORED {
        return image;
    }
    let (width, height) = match orientation.swaps_sides() {
        true => (image.height, image.width),
        false => (image.width, image.height),
    };
    let c = image.channels;
    let mut samples = Vec::with_capacity(image.samples.len());
    for y in 0..height {
        for x in 0..width {
            let (sx, sy) = orientation.source(x, y, image.width, image.height);
            let at = (sy * image.width + sx) * c;
            samples.extend_from_slice(&image.samples[at..at + c]);
        }
    }
    Image { width, height, channels: c, samples }
}

fn check_pixels(width: u64, height: u64, pixels_max: u64) -> Result<(), NoPreview> {
    if width == 0 || height == 0 || width.saturating_mul(height) > pixels_max {
        return Err(NoPreview::TooManyPixels { width, height, pixels_max });
    }
    Ok(())
}

fn undecodable(e: impl std::fmt::Display) -> NoPreview {
    NoPreview::Undecodable(e.to_string().chars().take(120).collect())
}

fn decode_png(source: impl BufRead + Seek, pixels_max: u64) -> Result<Image, NoPreview> {
    let mut decoder = png::Decoder::new(source);
    let info = decoder.read_header_info().map_err(undecodable)?;
    check_pixels(u64::from(info.width), u64::from(info.height), pixels_max)?;
    // Room for the checked pixels at 8 bytes each (16-bit RGBA before it is stripped).
    let budget = usize::try_from(pixels_max.saturating_mul(8)).unwrap_or(usize::MAX);
    decoder.set_limits(png::Limits { bytes: budget.saturating_add(1 << 20) });
    decoder.set_transformations(Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(undecodable)?;
    let size = reader.output_buffer_size().ok_or_else(|| undecodable("too large"))?;
    let mut samples = vec![0; size];
    let frame = reader.next_frame(&mut samples).map_err(undecodable)?;
    samples.truncate(frame.buffer_size());
    let channels = match frame.color_type {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Indexed => return Err(undecodable("a palette left unexpanded")),
    };
    let (width, height) = (frame.width as usize, frame.height as usize);
    if samples.len() < width * height * channels {
        return Err(undecodable("fewer pixels than declared"));
    }
    Ok(Image { width, height, channels, samples })
}

/// The pixels as stored, and how EXIF says to turn them for display.
fn decode_jpeg(
    source: impl BufRead + Seek,
    pixels_max: u64,
) -> Result<(Image, Orientation), NoPreview> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut decoder = JpegDecoder::new_with_options(source, options);
    decoder.decode_headers().map_err(undecodable)?;
    let (width, height) = decoder.dimensions().ok_or_else(|| undecodable("no frame header"))?;
    check_pixels(width as u64, height as u64, pixels_max)?;
    let orientation = decoder.exif().map_or(Orientation::AS_STORED, |e| orientation::of_exif(e));
    // RGB as asked, unless the decoder keeps a grayscale image gray.
    let channels = decoder.output_colorspace().map_or(3, |c| c.num_components());
    let samples = decoder.decode().map_err(undecodable)?;
    if !(1..=4).contains(&channels) || samples.len() < width * height * channels {
        return Err(undecodable("fewer pixels than declared"));
    }
    Ok((Image { width, height, channels, samples }, orientation))
}

/// The size of the preview: the image's own when it fits within `edge`, else scaled so its
/// longer edge is `edge` (at least one pixel each way).
fn fit(width: usize, height: usize, edge: usize) -> (usize, usize) {
    let longer = width.max(height);
    if longer <= edge {
        return (width, height);
    }
    ((width * edge / longer).max(1), (height * edge / longer).max(1))
}

/// Each output pixel is the mean of the source pixels its box covers: every source pixel is
/// read once, and no detail aliases as it would by picking one pixel of each box.
fn scale(image: &Image, width: usize, height: usize) -> Image {
    let c = image.channels;
    let mut samples = Vec::with_capacity(width * height * c);
    let mut sums = vec![0u64; c];
    for y in 0..height {
        let (y0, y1) = span(y, height, image.height);
        for x in 0..width {
            let (x0, x1) = span(x, width, image.width);
            sums.fill(0);
            for sy in y0..y1 {
                let row = &image.samples[(sy * image.width + x0) * c..(sy * image.width + x1) * c];
                for (i, sample) in row.iter().enumerate() {
                    sums[i % c] += u64::from(*sample);
                }
            }
            let count = ((y1 - y0) * (x1 - x0)) as u64;
            samples.extend(sums.iter().map(|s| (s / count) as u8));
        }
    }
    Image { width, height, channels: c, samples }
}

/// The source range `[start, end)` output index `i` of `out` covers in `source` (never empty).
fn span(i: usize, out: usize, source: usize) -> (usize, usize) {
    let start = i * source / out;
    let end = ((i + 1) * source / out).max(start + 1).min(source);
    (start, end)
}

fn encode(image: &Image) -> Result<Vec<u8>, NoPreview> {
    let color = match image.channels {
        1 => ColorType::Grayscale,
        2 => ColorType::GrayscaleAlpha,
        3 => ColorType::Rgb,
        _ => ColorType::Rgba,
    };
    let mut out = Vec::new();
    let (width, height) = (image.width as u32, image.height as u32);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(undecodable)?;
    writer.write_image_data(&image.samples).map_err(undecodable)?;
    writer.finish().map_err(undecodable)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn preview(bytes: &[u8], kind: &str, pixels_max: u64) -> Result<Vec<u8>, NoPreview> {
        make(Cursor::new(bytes), kind, pixels_max, 320)
    }

    fn png_of(width: u32, height: u32, color: ColorType, samples: &[u8]) -> Vec<u8> {
        let image = Image {
            width: width as usize,
            height: height as usize,
            channels: match color {
                ColorType::Grayscale => 1,
                ColorType::Rgb => 3,
                _ => 4,
            },
            samples: samples.to_vec(),
        };
        encode(&image).unwrap()
    }

    #[test]
    fn a_large_image_is_scaled_to_the_edge_keeping_its_shape() {
        let (w, h) = (640u32, 320u32);
        let samples: Vec<u8> = (0..w * h).flat_map(|i| [(i % 256) as u8, 0, 255]).collect();
        let made = preview(&png_of(w, h, ColorType::Rgb, &samples), "image/png", 1 << 24);
        let image = decode_png(Cursor::new(made.expect("a preview")), 1 << 24).unwrap();
        assert_eq!((image.width, image.height, image.channels), (320, 160, 3));
        // Blue stays blue; red is the mean of each box of a ramp, never above its top.
        assert!(image.samples.chunks(3).all(|p| p[1] == 0 && p[2] == 255));
    }

    #[test]
    fn a_small_image_keeps_its_size_and_its_alpha() {
        let samples = [10, 20, 30, 0, 40, 50, 60, 255];
        let made = preview(&png_of(2, 1, ColorType::Rgba, &samples), "image/png", 100).unwrap();
        let image = decode_png(Cursor::new(made), 100).unwrap();
        assert_eq!((image.width, image.height, image.channels), (2, 1, 4));
        assert_eq!(image.samples, samples);
    }

    #[test]
    fn a_bomb_is_refused_from_its_header_and_garbage_is_undecodable() {
        // A header declaring 100 000 × 100 000 pixels, and no pixel data.
        let mut bomb = Vec::new();
        let mut encoder = png::Encoder::new(&mut bomb, 100_000, 100_000);
        encoder.set_color(ColorType::Grayscale);
        drop(encoder.write_header().unwrap());
        match preview(&bomb, "image/png", 24_000_000) {
            Err(NoPreview::TooManyPixels { width: 100_000, height: 100_000, .. }) => {}
            other => panic!("{other:?}"),
        }
        let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
        garbage.extend([7u8; 64]);
        assert!(matches!(preview(&garbage, "image/png", 100), Err(NoPreview::Undecodable(_))));
        let jpeg = preview(b"\xff\xd8\xff\xe0", "image/jpeg", 100);
        assert!(matches!(jpeg, Err(NoPreview::Undecodable(_))), "{jpeg:?}");
        assert_eq!(preview(b"GIF89a", "image/gif", 100), Err(NoPreview::Unsupported));
    }

    /// Bits of a JPEG's entropy-coded data, with a 0x00 stuffed after each 0xFF byte.
    struct Bits {
        bytes: Vec<u8>,
        current: u8,
        used: u8,
    }

    impl Bits {
        fn push(&mut self, value: u32, count: u8) {
            for i in (0..count).rev() {
                self.current = (self.current << 1) | ((value >> i) & 1) as u8;
                self.used += 1;
                if self.used == 8 {
                    self.bytes.push(self.current);
                    if self.current == 0xff {
                        self.bytes.push(0);
                    }
                    (self.current, self.used) = (0, 0);
                }
            }
        }
    }

    /// A real baseline JPEG, gray 200 everywhere, with an EXIF segment saying `orientation`
    /// when given: each 8 × 8 block is only its DC coefficient (a quantiser of 1), so two tiny
    /// Huffman tables do (as `attachments_previews.rs` makes its JPEGs).
    fn gray_jpeg(width: u16, height: u16, orientation: Option<u16>) -> Vec<u8> {
        let dc: u32 = 8 * (200 - 128);
        let mut out = vec![0xff, 0xd8];
        if let Some(value) = orientation {
            // APP1: "Exif", then a little-endian TIFF header and one directory of one entry.
            let mut tiff =
                b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00".to_vec();
            tiff.extend(value.to_le_bytes());
            tiff.extend([0; 6]);
            out.extend([0xff, 0xe1]);
            out.extend((2 + 6 + tiff.len() as u16).to_be_bytes());
            out.extend(b"Exif\0\0");
            out.extend(tiff);
        }
        out.extend([0xff, 0xdb, 0, 67, 0]);
        out.extend([1u8; 64]);
        out.extend([0xff, 0xc0, 0, 11, 8]);
        out.extend(height.to_be_bytes());
        out.extend(width.to_be_bytes());
        out.extend([1, 1, 0x11, 0]);
        out.extend([
            0xff, 0xc4, 0, 21, 0x00, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0,
        ]);
        out.extend([0xff, 0xc4, 0, 20, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend([0xff, 0xda, 0, 8, 1, 1, 0x00, 0, 63, 0]);
        let blocks = u32::from(width.div_ceil(8)) * u32::from(height.div_ceil(8));
        let mut bits = Bits { bytes: Vec::new(), current: 0, used: 0 };
        bits.push(0, 1); // DC size 10
        bits.push(dc, 10);
        bits.push(0, 1); // end of block
        for _ in 1..blocks {
            bits.push(0b10, 2); // DC size 0: the same as the block before
            bits.push(0, 1);
        }
        let pad = (8 - bits.used) % 8;
        bits.push((1 << pad) - 1, pad);
        out.extend(bits.bytes);
        out.extend([0xff, 0xd9]);
        out
    }

    #[test]
    fn a_jpeg_preview_is_turned_as_its_exif_orientation_says() {
        let size = |jpeg: Vec<u8>| {
            let png = preview(&jpeg, "image/jpeg", 1 << 20).expect("a preview");
            let image = decode_png(Cursor::new(png), 1 << 20).unwrap();
            assert!(image.samples.iter().all(|s| s.abs_diff(200) <= 2), "still gray 200");
            (image.width, image.height)
        };
        assert_eq!(size(gray_jpeg(32, 16, None)), (32, 16), "no EXIF: as stored");
        assert_eq!(size(gray_jpeg(32, 16, Some(1))), (32, 16));
        assert_eq!(size(gray_jpeg(32, 16, Some(3))), (32, 16), "upside down: the same sides");
        assert_eq!(size(gray_jpeg(32, 16, Some(6))), (16, 32), "a quarter turn");
        assert_eq!(size(gray_jpeg(640, 320, Some(8))), (160, 320), "scaled, then turned");
    }

    #[test]
    fn turning_moves_each_pixel_whole() {
        // Stored 2 × 1, RGB: red then blue. A quarter turn clockwise makes the stored row the
        // right column, top to bottom: red above blue.
        let stored =
            Image { width: 2, height: 1, channels: 3, samples: vec![255, 0, 0, 0, 0, 255] };
        let turned = turn(stored, orientation::of_exif(b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"));
        assert_eq!((turned.width, turned.height), (1, 2));
        assert_eq!(turned.samples, [255, 0, 0, 0, 0, 255]);
    }

    #[test]
    fn boxes_cover_the_source_once() {
        assert_eq!(fit(1000, 10, 320), (320, 3));
        assert_eq!(fit(3, 5000, 320), (1, 320));
        let covered: Vec<(usize, usize)> = (0..3).map(|i| span(i, 3, 10)).collect();
        assert_eq!(covered, [(0, 3), (3, 6), (6, 10)]);
    }
}
