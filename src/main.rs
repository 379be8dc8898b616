//! The `ecocorridor` command. `main` only turns the result of [`cli::run`] into an exit code:
//! 0 done, 1 no feasible plan, 2 bad input or failure.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            let msg = error_text(&err);
            // A closed stderr must not turn a failure into a panic.
            let _ =
                std::io::Write::write_all(&mut std::io::stderr(), format!("{msg}\n").as_bytes());
            ExitCode::from(2)
        }
    }
}

/// Large arrays (rasters, solver vectors; 1 MiB and more) get their own memory mappings,
/// returned to the system when freed. By default glibc raises that threshold as large blocks
/// are freed (up to 32 MiB), after which arrays of a few million cells come from the heap and
/// stay counted in the process's memory after they are freed: on the circuit benchmark
/// (all 45 pairs, `/usr/bin/time`) the peak fell from 632,980-648,840 KiB to 614,960 KiB,
/// time unchanged within the runs' spread (2026-12-02).
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// The error and its causes, each cause once: errors that already show their cause in their
/// own message (`cannot read raster x: No such file`) do not repeat it as "caused by".
fn error_text(err: &anyhow::Error) -> String {
    let mut msg = format!("error: {err}");
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(&format!("\n  caused by: {text}"));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(io).context("cannot read raster `x.tif`: No such file");
        assert_eq!(
            super::error_text(&e),
            "error: cannot read raster `x.tif`: No such file"
        );
        let e = anyhow::anyhow!("disk full").context("cannot write `out.tif`");
        assert_eq!(
            super::error_text(&e),
            "error: cannot write `out.tif`\n  caused by: disk full"
        );
    }
}
