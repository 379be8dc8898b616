//! Hot loops compiled a second time for wider vectors (AVX2 on x86-64), chosen at run time.
//!
//! The crate is built for the baseline instruction set (the binary runs on any x86-64), where
//! f64 arithmetic is two lanes wide. [`run`] calls a closure through a copy compiled with AVX2
//! and FMA when the CPU has them (checked once), four lanes wide. Results are bit-identical
//! either way: the same IEEE operations in the same order, only more per instruction (Rust
//! never contracts `a * b + c` into a fused multiply-add, so enabling FMA changes no rounding).
//! `ECOCORRIDOR_NO_SIMD=1` forces the baseline path (to compare, or on a CPU that misreports).

/// Set by tests to run the baseline path on a CPU that has the wide one (both paths must
/// give the same bits, so a test running meanwhile is not affected).
static BASELINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`run`] take the baseline path (`true`) or choose by the CPU (`false`), for tests.
#[cfg(test)]
pub(crate) fn force_baseline(on: bool) {
    BASELINE.store(on, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`run`] takes the wide path on this CPU.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *WIDE.get_or_init(|| {
            std::env::var_os("ECOCORRIDOR_NO_SIMD").is_none()
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `f()`, compiled with AVX2 and FMA when [`available`]. `f` should be a loop whose body
/// inlines (slices, arithmetic, `#[inline]` helpers): a call it makes to a function compiled
/// apart runs at the baseline width.
#[inline(always)]
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if available() && !BASELINE.load(std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: `available` found AVX2 and FMA on this CPU.
        return unsafe { avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn both_paths_give_bit_identical_sums() {
        let x: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 / 97.0)
            .collect();
        let body = || {
            let mut s = [0.0f64; 8];
            for c in x.chunks_exact(8) {
                for l in 0..8 {
                    s[l] += c[l] * 1.000_000_1 + 1.0 / (c[l] + 1.0);
                }
            }
            s
        };
        assert_eq!(run(body), body());
    }
}
