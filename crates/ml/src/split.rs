//! scikit-learn's `train_test_split(X, y, train_size=..., random_state=seed)`, bit for bit.
//!
//! sklearn seeds numpy's legacy `RandomState(seed)`: the MT19937 generator initialised by
//! `init_genrand(seed)`. `ShuffleSplit` then draws `rng.permutation(n)` (a Fisher-Yates
//! shuffle of `0..n` from the last position down, each swap partner drawn by
//! `random_interval`, numpy's masked rejection sampler) and takes the first `n_test`
//! indices as the test set and the next `n_train` as the training set, with
//! `n_train = floor(train_size * n)` and `n_test = n - n_train`.

/// numpy's legacy Mersenne Twister (MT19937, 32-bit).
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

impl Mt19937 {
    /// `init_genrand(seed)`, which numpy's `RandomState(seed)` uses for an integer seed.
    pub fn new(seed: u32) -> Mt19937 {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// `genrand_int32`: the next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// numpy's 64-bit draw for the legacy generator: two 32-bit outputs, high word first.
    pub fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        (high << 32) | u64::from(self.next_u32())
    }

    /// numpy's `random_interval(max)`: uniform in `0..=max` by rejection sampling under
    /// the smallest all-ones bit mask covering `max` (32-bit draws when `max` fits).
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        loop {
            let value =
                if max <= u64::from(u32::MAX) { u64::from(self.next_u32()) & mask } else { self.next_u64() & mask };
            if value <= max {
                return value;
            }
        }
    }

    /// `RandomState.permutation(n)`: `arange(n)` shuffled in place by the legacy
    /// Fisher-Yates loop (`for i in reversed(range(1, n)): swap(a[i], a[random_interval(i)])`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut values: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.random_interval(i as u64) as usize;
            values.swap(i, j);
        }
        values
    }
}

/// Row positions of a train/test split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// The sizes sklearn derives from a float `train_size` and no `test_size`:
/// `n_train = floor(train_size * n)`, `n_test = n - n_train`.
pub fn split_sizes(n: usize, train_size: f64) -> (usize, usize) {
    let n_train = (train_size * n as f64).floor() as usize;
    (n_train, n - n_train)
}

/// `train_test_split(range(n), train_size=train_size, random_state=seed)`: the positions
/// of the training rows and of the test rows, each in the order sklearn returns them.
pub fn train_test_split(n: usize, train_size: f64, seed: u32) -> Split {
    let (n_train, n_test) = split_sizes(n, train_size);
    let permutation = Mt19937::new(seed).permutation(n);
    Split { test: permutation[..n_test].to_vec(), train: permutation[n_test..n_test + n_train].to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outputs_for_seed_42_are_numpys() {
        // np.random.RandomState(42).randint(0, 2**32, dtype=np.uint64) draws these, and
        // random_sample() = 0.3745401188473625 = ((a >> 5) * 67108864 + (b >> 6)) / 2**53.
        let mut mt = Mt19937::new(42);
        let (a, b) = (mt.next_u32(), mt.next_u32());
        assert_eq!((a, b, mt.next_u32()), (1_608_637_542, 3_421_126_067, 4_083_286_876));
        let sample = (f64::from(a >> 5) * 67_108_864.0 + f64::from(b >> 6)) / 9_007_199_254_740_992.0;
        assert_eq!(sample, 0.3745401188473625);
    }

    #[test]
    fn the_generator_matches_the_reference_after_a_twist() {
        // The reference mt19937ar.c, init_genrand(5489) (its default seed): output 10000
        // is 4123659995, which exercises many regenerations of the state.
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), 3_499_211_612);
        let last = (1..10_000).map(|_| mt.next_u32()).last().unwrap();
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn random_interval_rejects_draws_above_max_under_the_mask() {
        // max = 5 -> mask 7: seed 42's first draws & 7 are 6 (rejected), 3 (kept).
        let mut mt = Mt19937::new(42);
        assert_eq!(1_608_637_542u32 & 7, 6);
        assert_eq!(3_421_126_067u32 & 7, 3);
        assert_eq!(mt.random_interval(5), 3);
        assert_eq!(Mt19937::new(42).random_interval(0), 0);
        // max = 2**32 - 1 still uses one 32-bit draw, unmasked.
        assert_eq!(Mt19937::new(42).random_interval(u64::from(u32::MAX)), 1_608_637_542);
    }

    #[test]
    fn permutation_of_small_n_follows_the_algorithm_by_hand() {
        // n = 3, seed 42: i = 2 draws under mask 3: 1608637542 & 3 = 2 -> swap(a[2], a[2]);
        // i = 1 draws under mask 1: 3421126067 & 1 = 1 -> swap(a[1], a[1]). Identity.
        assert_eq!(Mt19937::new(42).permutation(3), vec![0, 1, 2]);
        // n = 4: i = 3 (mask 3): 2 -> [0, 1, 3, 2]; i = 2 (mask 3): 3421126067 & 3 = 3 > 2,
        // rejected, 4083286876 & 3 = 0 -> [3, 1, 0, 2]; i = 1 (mask 1): 787846414 & 1 = 0
        // -> swap(a[1], a[0]).
        assert_eq!(Mt19937::new(42).permutation(4), vec![1, 3, 0, 2]);
        assert_eq!(Mt19937::new(42).permutation(0), Vec::<usize>::new());
        assert_eq!(Mt19937::new(42).permutation(1), vec![0]);
    }

    #[test]
    fn permutation_of_ten_is_numpys() {
        // np.random.RandomState(42).permutation(10)
        assert_eq!(Mt19937::new(42).permutation(10), vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
    }

    #[test]
    fn split_takes_test_first_then_train_from_the_permutation() {
        // train_test_split(range(10), train_size=0.7, random_state=42):
        // n_train = 7, n_test = 3; test = perm[:3], train = perm[3:10].
        let split = train_test_split(10, 0.7, 42);
        assert_eq!(split.test, vec![8, 1, 5]);
        assert_eq!(split.train, vec![0, 7, 2, 9, 4, 3, 6]);
        assert_eq!(split_sizes(1871, 0.7), (1309, 562));
        // floor, not round: 0.7 * 3 = 2.0999... -> 2 train, 1 test.
        assert_eq!(split_sizes(3, 0.7), (2, 1));
        assert_eq!(split_sizes(0, 0.7), (0, 0));
    }
}
