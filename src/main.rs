//! The `ecocorridor` command. `main` only turns the result of [`cli::run`] into an exit code:
//! 0 done, 1 no feasible plan, 2 bad input or failure.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            let mut msg = format!("error: {err}");
            for cause in err.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            // A closed stderr must not turn a failure into a panic.
            let _ =
                std::io::Write::write_all(&mut std::io::stderr(), format!("{msg}\n").as_bytes());
            ExitCode::from(2)
        }
    }
}
