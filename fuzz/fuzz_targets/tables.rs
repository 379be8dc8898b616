//! Any bytes as a class table, a scenario, a sites table or a connectors table: each parses
//! to a value or an error naming the problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let text = ecocorridor::classes::decode_text(body);
    match kind % 4 {
        0 => {
            let _ = ecocorridor::classes::ClassTable::parse(std::path::Path::new("c.csv"), &text);
        }
        1 => {
            let _ = ecocorridor::scenario::Scenario::parse(std::path::Path::new("s.toml"), &text);
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("eco-fuzz-t-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join("t.csv");
            if std::fs::write(&path, body).is_err() {
                return;
            }
            if kind % 4 == 2 {
                if let Ok((sites, _)) = ecocorridor::io::optimize_tables::read_sites(&path) {
                    let _ = ecocorridor::io::optimize_tables::read_connectors(&path, &sites);
                }
            } else {
                let _ = ecocorridor::io::network_tables::read_patches(&path);
            }
        }
    }
});
