//! PNG pictures (8-bit RGB), written under a temporary name and renamed when complete.

use std::path::Path;

use crate::map::Canvas;

/// Writes `canvas` as an RGB PNG.
///
/// # Errors
/// The I/O or encoder error (as `std::io::Error`).
pub fn write_png(path: &Path, canvas: &Canvas) -> std::io::Result<()> {
    crate::io::atomic::write_atomic(path, |w| {
        let mut enc = png::Encoder::new(w, canvas.width as u32, canvas.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Default);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        let data: Vec<u8> = canvas.pixels.iter().flatten().copied().collect();
        writer
            .write_image_data(&data)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}
