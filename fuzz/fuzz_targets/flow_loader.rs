//! Any bytes as a flow file (or as `careline.yaml`) beside the shipped flows: the loader reports
//! problems, it never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

fn shipped() -> &'static Vec<(String, String)> {
    static FILES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flows");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        files.sort();
        files
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut files = shipped().clone();
    if which % 4 == 0 {
        // Replace the settings file.
        if let Some(f) = files.iter_mut().find(|f| f.0.ends_with("careline.yaml")) {
            f.1 = text.to_string();
        }
    } else {
        // Add a fuzzed flow, or replace one of the shipped ones.
        let ix = usize::from(which) % files.len();
        if which % 4 == 1 {
            files[ix].1 = text.to_string();
        } else {
            files.push(("fuzzed.yaml".into(), text.to_string()));
        }
    }
    let _ = careline::flow::load::load_sources(Path::new("flows"), &files);
});
