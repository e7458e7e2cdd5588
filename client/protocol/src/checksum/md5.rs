//! MD5 as fast as this CPU allows: one stream, or many streams at once in SIMD lanes.
//!
//! COS makes every upload byte path pay for MD5 (the ETag of an object or part, the
//! `Content-MD5` a client sends), and MD5 is serial within one stream: block *n + 1* needs
//! the state after block *n*. So the two ways to go faster are a better single-stream kernel
//! ([`Md5`], [`md5`]) and hashing *independent* streams together, one per SIMD lane
//! ([`Lanes`]). Both come from `md5-many`; this module is the one place that knows it, and
//! checks it against RustCrypto's `md-5` (known answers and a property test over random
//! lengths and chunk splits for every [`Backend`] this CPU can run).
//!
//! Measured on the project's AVX-512 Xeon (64 MiB in memory, aggregate MiB/s, best of 6,
//! `docs/performance.md`): `md-5` 564; [`Md5`] 770; [`Lanes`] with 2 / 4 / 8 / 16 streams
//! about 1,180 / 2,390 / 4,760 / 5,900. `md5-many` batches whose size is not a multiple of
//! its native group fall into slow schedules on AVX2 and AVX-512 (5 streams: 164 MiB/s), so
//! [`Lanes::update`] hands it whole groups of 8 there, filling spare lanes with copies of a
//! real stream whose results are thrown away.

use fearless_simd::Level;
use md5_many::{Md5Many, Md5State};

/// One MD5 stream, fed in pieces of any size.
#[derive(Clone, Copy, Debug)]
pub struct Md5(Md5State);

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5 {
    /// An MD5 over no bytes yet.
    pub const fn new() -> Self {
        Self(Md5State::new())
    }

    /// Feeds the next bytes, with the fastest single-stream kernel of this CPU.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed so far; more may be fed afterwards.
    pub fn finalize(&self) -> [u8; 16] {
        self.0.finalize()
    }
}

/// MD5 of one byte string.
pub fn md5(data: &[u8]) -> [u8; 16] {
    md5_many::md5(data)
}

/// A SIMD instruction set [`Lanes`] can hash with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// x86-64 with AVX-512 (Ice Lake class).
    Avx512,
    /// x86-64-v3: AVX2.
    Avx2,
    /// x86-64-v2: SSE4.2.
    Sse42,
    /// Every x86-64 CPU: SSE2.
    Sse2,
    /// 64-bit ARM.
    Neon,
    /// No SIMD at all: what a CPU without any of the above gets.
    Portable,
}

impl Backend {
    /// Every backend, best first.
    pub const ALL: [Backend; 6] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Sse42,
        Backend::Sse2,
        Backend::Neon,
        Backend::Portable,
    ];

    /// Its `fearless_simd` level, if this CPU has it.
    fn level(self) -> Option<Level> {
        let detected = Level::new();
        match self {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Avx512 => detected.as_avx512().map(Level::Avx512),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Avx2 => detected.as_avx2().map(Level::Avx2),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Sse42 => detected.as_sse4_2().map(Level::Sse4_2),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Sse2 => detected.as_sse2().map(Level::Sse2),
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => detected.as_neon().map(Level::Neon),
            Backend::Portable => Some(Level::fallback()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Streams per native group: a batch is padded to a multiple of this. AVX-512 takes
    /// AVX2's 8: `md5-many` runs 8-stream batches with its AVX2 kernel there, and 16
    /// streams is two groups (measured: 4 streams padded to 8 hash at 2,390 MiB/s, padded
    /// to 16 at 1,740). The 4-lane sets have no slow batch sizes and padding only costs
    /// there (SSE4.2: 2 streams 765 MiB/s as they are, 583 padded to 4; 5 streams 1,060
    /// against 730 padded to 8); portable lanes are scalar.
    fn group(self) -> usize {
        match self {
            Backend::Avx512 | Backend::Avx2 => 8,
            Backend::Sse42 | Backend::Sse2 | Backend::Neon | Backend::Portable => 1,
        }
    }
}

/// The most streams one `md5-many` call takes; larger batches go in several calls.
const MAX_BATCH: usize = 16;

/// MD5 works on blocks of this many bytes.
const BLOCK: usize = 64;

/// Hashes several independent streams together, one per SIMD lane.
#[derive(Clone, Copy, Debug)]
pub struct Lanes {
    engine: Md5Many,
    backend: Backend,
}

impl Lanes {
    /// The best backend of this CPU.
    pub fn detect() -> Self {
        Backend::ALL
            .into_iter()
            .find_map(Self::with)
            .unwrap_or(Self {
                engine: Md5Many::from_level(Level::fallback()),
                backend: Backend::Portable,
            })
    }

    /// Lanes of `backend`, or `None` if this CPU cannot run it.
    pub fn with(backend: Backend) -> Option<Self> {
        backend.level().map(|level| Self {
            engine: Md5Many::from_level(level),
            backend,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Feeds `inputs[i]` to `streams[i]`, all at once. A lone stream gets the single-stream
    /// kernel, which is faster than one lane.
    ///
    /// # Panics
    /// If `streams` and `inputs` differ in length (a caller's bug, never the data's).
    pub fn update(&self, streams: &mut [Md5], inputs: &[&[u8]]) {
        assert_eq!(streams.len(), inputs.len(), "one input per stream");
        for (streams, inputs) in streams.chunks_mut(MAX_BATCH).zip(inputs.chunks(MAX_BATCH)) {
            self.update_batch(streams, inputs);
        }
    }

    /// One round of a hashing service: advances every stream over a prefix of its input, and
    /// returns how many bytes of each input it took. Streams with a block or more go together
    /// in lanes, by the same whole number of blocks (the shortest such input's, at most
    /// `most` bytes), the shape `md5-many` hashes fastest; a lone one takes up to `most`
    /// bytes with the single-stream kernel, and a stream with less than a block left takes it
    /// alone. A service calls it again with what is left, joined by whatever streams came
    /// meanwhile: a newcomer waits at most one round, and nobody waits for company.
    ///
    /// # Panics
    /// If `streams` and `inputs` differ in length (a caller's bug, never the data's).
    pub fn step(&self, streams: &mut [Md5], inputs: &[&[u8]], most: usize) -> Vec<usize> {
        assert_eq!(streams.len(), inputs.len(), "one input per stream");
        let most = most.max(BLOCK);
        let mut taken = vec![0; inputs.len()];
        let mut together = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            match input.len() {
                0 => {}
                n if n < BLOCK => {
                    streams[i].update(input);
                    taken[i] = n;
                }
                _ => together.push(i),
            }
        }
        if let [lone] = together[..] {
            let n = inputs[lone].len().min(most);
            streams[lone].update(&inputs[lone][..n]);
            taken[lone] = n;
            return taken;
        }
        let Some(shortest) = together.iter().map(|&i| inputs[i].len()).min() else {
            return taken;
        };
        let n = shortest.min(most) / BLOCK * BLOCK;
        let mut states: Vec<Md5> = together.iter().map(|&i| streams[i]).collect();
        let slices: Vec<&[u8]> = together.iter().map(|&i| &inputs[i][..n]).collect();
        self.update(&mut states, &slices);
        for (&i, state) in together.iter().zip(states) {
            streams[i] = state;
            taken[i] = n;
        }
        taken
    }

    /// [`Lanes::update`] for at most [`MAX_BATCH`] streams: padded up to whole groups with
    /// copies of the first stream, whose copies' results are dropped.
    fn update_batch(&self, streams: &mut [Md5], inputs: &[&[u8]]) {
        let n = streams.len();
        if n <= 1 {
            if let (Some(stream), Some(input)) = (streams.first_mut(), inputs.first()) {
                stream.update(input);
            }
            return;
        }
        let group = self.backend.group();
        let width = n.div_ceil(group) * group;
        let mut states = [Md5State::new(); MAX_BATCH];
        let mut batch: [&[u8]; MAX_BATCH] = [&[]; MAX_BATCH];
        for i in 0..width {
            let real = if i < n { i } else { 0 };
            states[i] = streams[real].0;
            batch[i] = inputs[real];
        }
        self.engine
            .update_many(&mut states[..width], &batch[..width]);
        for (stream, state) in streams.iter_mut().zip(states) {
            stream.0 = state;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use md5_reference::{Digest, Md5 as Reference};
    use proptest::prelude::*;

    fn reference(data: &[u8]) -> [u8; 16] {
        Reference::digest(data).into()
    }

    /// RFC 1321 appendix A.5.
    const RFC_1321: [(&str, &str); 7] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            "abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "d174ab98d277d9f5a5611c2c9f419d9f",
        ),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];

    fn backends() -> Vec<Lanes> {
        Backend::ALL.into_iter().filter_map(Lanes::with).collect()
    }

    #[test]
    fn this_cpu_runs_the_portable_backend_and_detects_its_best() {
        let all: Vec<Backend> = backends().iter().map(Lanes::backend).collect();
        assert!(all.contains(&Backend::Portable), "{all:?}");
        assert_eq!(Lanes::detect().backend(), all[0]);
    }

    #[test]
    fn rfc_1321_known_answers_single_stream() {
        for (input, hex) in RFC_1321 {
            assert_eq!(hex::encode(md5(input.as_bytes())), hex, "{input:?}");
            let mut h = Md5::new();
            for byte in input.as_bytes() {
                h.update(&[*byte]);
            }
            assert_eq!(hex::encode(h.finalize()), hex, "{input:?} byte by byte");
        }
    }

    #[test]
    fn rfc_1321_known_answers_in_lanes_of_every_backend() {
        for lanes in backends() {
            for width in 1..=RFC_1321.len() {
                let mut streams = vec![Md5::new(); width];
                let inputs: Vec<&[u8]> = RFC_1321[..width]
                    .iter()
                    .map(|(i, _)| i.as_bytes())
                    .collect();
                lanes.update(&mut streams, &inputs);
                for (stream, (input, hex)) in streams.iter().zip(RFC_1321) {
                    assert_eq!(
                        hex::encode(stream.finalize()),
                        hex,
                        "{:?}, {width} streams, {input:?}",
                        lanes.backend()
                    );
                }
            }
        }
    }

    /// Streams of random bytes, each cut into random pieces.
    fn arb_streams(max_streams: usize, max_len: usize) -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
        let stream = prop::collection::vec(any::<u8>(), 0..max_len).prop_flat_map(|bytes| {
            let len = bytes.len();
            (Just(bytes), prop::collection::vec(0..=len, 0..8)).prop_map(|(bytes, mut cuts)| {
                cuts.push(0);
                cuts.push(bytes.len());
                cuts.sort_unstable();
                cuts.windows(2)
                    .map(|w| bytes[w[0]..w[1]].to_vec())
                    .collect()
            })
        });
        prop::collection::vec(stream, 1..=max_streams)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any split of any bytes gives `md-5`'s digest, single stream.
        #[test]
        fn single_stream_equals_md5_reference(streams in arb_streams(1, 4096)) {
            let pieces = &streams[0];
            let mut h = Md5::new();
            for p in pieces {
                h.update(p);
            }
            prop_assert_eq!(h.finalize(), reference(&pieces.concat()));
            prop_assert_eq!(md5(&pieces.concat()), reference(&pieces.concat()));
        }

        /// Streams hashed by repeated [`Lanes::step`]s, newcomers joining between rounds, give
        /// `md-5`'s digests on every backend, and every round takes something.
        #[test]
        fn stepped_streams_equal_md5_reference(
            streams in arb_streams(12, 5000),
            most in 1usize..3000,
        ) {
            for lanes in backends() {
                let inputs: Vec<Vec<u8>> = streams.iter().map(|p| p.concat()).collect();
                let mut states = vec![Md5::new(); inputs.len()];
                let mut done = vec![0; inputs.len()];
                let mut joined = 1;
                while done.iter().zip(&inputs).any(|(d, i)| *d < i.len()) || joined < inputs.len() {
                    let left: Vec<&[u8]> = inputs[..joined]
                        .iter()
                        .zip(&done)
                        .map(|(i, d)| &i[*d..])
                        .collect();
                    let taken = lanes.step(&mut states[..joined], &left, most);
                    prop_assert!(
                        left.iter().all(|l| l.is_empty()) || taken.iter().any(|t| *t > 0)
                    );
                    for (d, t) in done.iter_mut().zip(taken) {
                        *d += t;
                    }
                    joined = (joined + 1).min(inputs.len());
                }
                for (state, input) in states.iter().zip(&inputs) {
                    prop_assert_eq!(state.finalize(), reference(input), "{:?}", lanes.backend());
                }
            }
        }

        /// Many streams of random lengths, fed in rounds of random pieces (a stream with no
        /// piece left gets an empty one, or sits a round out), give `md-5`'s digests on every
        /// backend this CPU can run.
        #[test]
        fn lanes_equal_md5_reference_on_every_backend(
            streams in arb_streams(20, 3000),
            sit_out in any::<u64>(),
        ) {
            for lanes in backends() {
                let mut states = vec![Md5::new(); streams.len()];
                let rounds = streams.iter().map(Vec::len).max().unwrap_or(0);
                for round in 0..rounds {
                    let mut picked = Vec::new();
                    let mut inputs: Vec<&[u8]> = Vec::new();
                    for (i, pieces) in streams.iter().enumerate() {
                        let piece = pieces.get(round).map_or(&[][..], Vec::as_slice);
                        if piece.is_empty() && (sit_out >> (i % 64)) & 1 == 1 {
                            continue;
                        }
                        picked.push(i);
                        inputs.push(piece);
                    }
                    let mut batch: Vec<Md5> = picked.iter().map(|&i| states[i]).collect();
                    lanes.update(&mut batch, &inputs);
                    for (&i, state) in picked.iter().zip(batch) {
                        states[i] = state;
                    }
                }
                for (state, pieces) in states.iter().zip(&streams) {
                    prop_assert_eq!(
                        state.finalize(),
                        reference(&pieces.concat()),
                        "{:?}",
                        lanes.backend()
                    );
                }
            }
        }
    }

    /// Whole 4 KiB pieces in lockstep, the shape the emulator's hashing service produces, on
    /// every backend and every batch size up to two full batches.
    #[test]
    fn lockstep_batches_of_every_size_equal_md5_reference() {
        let data: Vec<u8> = (0..40 * 4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let pieces: Vec<&[u8]> = data.chunks(4096).collect();
        for lanes in backends() {
            for n in 1..=2 * MAX_BATCH + 1 {
                let mut streams = vec![Md5::new(); n];
                for round in 0..2 {
                    let inputs: Vec<&[u8]> =
                        (0..n).map(|i| pieces[(i + round) % pieces.len()]).collect();
                    lanes.update(&mut streams, &inputs);
                }
                for (i, s) in streams.iter().enumerate() {
                    let whole = [pieces[i % pieces.len()], pieces[(i + 1) % pieces.len()]].concat();
                    assert_eq!(
                        s.finalize(),
                        reference(&whole),
                        "{:?} n={n} i={i}",
                        lanes.backend()
                    );
                }
            }
        }
    }
}
