//! Corpus program: exercises std collections, formatting, iterators and
//! closures, trait objects, Option/Result, Box/Rc and sorting, and prints a
//! few deterministic lines. HashMaps use a fixed (unkeyed) hasher so that
//! even their iteration order is the same on every run; nothing reads the
//! clock, the environment or randomness.

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

type FixedState = BuildHasherDefault<DefaultHasher>;
type FixedMap<K, V> = HashMap<K, V, FixedState>;

/// FNV-1a over everything the workloads produce.
struct Checksum(u64);

impl Checksum {
    fn add(&mut self, bytes: impl AsRef<[u8]>) {
        for &b in bytes.as_ref() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn add_num(&mut self, n: i64) {
        self.add(n.to_le_bytes());
    }
}

// Traits with dynamic dispatch.
trait Shape {
    fn name(&self) -> String;
    fn area(&self) -> f64;
    fn scale(&mut self, k: f64);
    fn describe(&self) -> String {
        format!("{}({:.2})", self.name(), self.area())
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Circle {
    r: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Rect {
    w: f64,
    h: f64,
}

impl Shape for Circle {
    fn name(&self) -> String {
        "circle".to_string()
    }
    fn area(&self) -> f64 {
        3.0 * self.r * self.r
    }
    fn scale(&mut self, k: f64) {
        self.r *= k;
    }
}

impl Shape for Rect {
    fn name(&self) -> String {
        if self.w == self.h {
            "square".into()
        } else {
            "rect".into()
        }
    }
    fn area(&self) -> f64 {
        self.w * self.h
    }
    fn scale(&mut self, k: f64) {
        self.w *= k;
        self.h *= k;
    }
    fn describe(&self) -> String {
        format!("{}[{}x{}]", self.name(), self.w, self.h)
    }
}

fn shapes(sum: &mut Checksum) -> String {
    let mut shapes: Vec<Box<dyn Shape>> = (1..=9)
        .map(|i| -> Box<dyn Shape> {
            if i % 2 == 0 {
                Box::new(Circle {
                    r: f64::from(i) / 2.0,
                })
            } else {
                Box::new(Rect {
                    w: f64::from(i),
                    h: f64::from(i % 4 + 1),
                })
            }
        })
        .collect();
    for (i, shape) in shapes.iter_mut().enumerate() {
        if i % 3 == 0 {
            shape.scale(2.0);
        }
    }
    shapes.sort_by(|a, b| {
        a.area()
            .total_cmp(&b.area())
            .then_with(|| a.name().cmp(&b.name()))
    });
    let total: f64 = shapes.iter().map(|s| s.area()).sum();
    let text: Vec<String> = shapes.iter().take(4).map(|s| s.describe()).collect();
    sum.add(text.join(","));
    sum.add_num(total as i64);
    format!("shapes: total={total:.3} smallest={}", text.join(" "))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Vowel,
    Consonant,
    Other,
}

fn classify(c: char) -> Kind {
    match c.to_ascii_lowercase() {
        'a' | 'e' | 'i' | 'o' | 'u' => Kind::Vowel,
        c if c.is_ascii_alphabetic() => Kind::Consonant,
        _ => Kind::Other,
    }
}

fn words(sum: &mut Checksum) -> Vec<String> {
    let text = "It was the best of times it was the worst of times it was the age of \
                wisdom it was the age of foolishness";
    let mut counts: FixedMap<String, usize> = FixedMap::default();
    for word in text.split_whitespace().map(str::to_lowercase) {
        *counts.entry(word).or_insert(0) += 1;
    }
    // A fixed hasher makes even the HashMap's own order reproducible.
    let hash_order: Vec<&str> = counts.keys().map(String::as_str).take(3).collect();

    let mut by_count: Vec<(&String, &usize)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = by_count
        .iter()
        .take(4)
        .map(|(w, n)| format!("{w}:{n}"))
        .collect();

    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    for c in text.chars() {
        *kinds.entry(classify(c)).or_default() += 1;
    }
    let letters: BTreeSet<char> = text.chars().filter(char::is_ascii_alphabetic).collect();
    let unique: HashSet<&str, FixedState> = text.split(' ').collect();

    sum.add(top.join(" "));
    sum.add(hash_order.join(" "));
    vec![
        format!(
            "words: distinct={} unique={} top={}",
            counts.len(),
            unique.len(),
            top.join(",")
        ),
        format!(
            "kinds: {kinds:?} letters={} hash-order={hash_order:?}",
            letters.len()
        ),
    ]
}

#[derive(Debug)]
enum ParseError {
    Empty,
    Bad(String),
    Negative(i64),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => write!(f, "empty"),
            ParseError::Bad(s) => write!(f, "bad {s:?}"),
            ParseError::Negative(n) => write!(f, "negative {n}"),
        }
    }
}

fn parse_positive(s: &str) -> Result<i64, ParseError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ParseError::Empty);
    }
    let n: i64 = s.parse().map_err(|_| ParseError::Bad(s.to_string()))?;
    if n < 0 {
        Err(ParseError::Negative(n))
    } else {
        Ok(n)
    }
}

fn results(sum: &mut Checksum) -> String {
    let inputs = ["12", " 7 ", "", "x9", "-4", "100", "3"];
    let parsed: Vec<Result<i64, ParseError>> = inputs.iter().map(|s| parse_positive(s)).collect();
    let ok_total: i64 = parsed.iter().filter_map(|r| r.as_ref().ok()).sum();
    let errors: Vec<String> = parsed
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(ToString::to_string)
        .collect();
    let first_big = parsed.iter().flatten().find(|&&n| n > 10).copied();
    let all: Result<Vec<i64>, ParseError> =
        ["1", "2", "3"].iter().map(|s| parse_positive(s)).collect();
    let halves: Option<Vec<i64>> = [8i64, 6, 4]
        .iter()
        .map(|n| (n % 2 == 0).then_some(n / 2))
        .collect();
    sum.add_num(ok_total);
    sum.add(errors.join(";"));
    format!(
        "results: ok={ok_total} errors={errors:?} first_big={first_big:?} all={all:?} halves={halves:?}"
    )
}

/// A tree with shared, mutable nodes.
#[derive(Debug)]
struct Node {
    value: i64,
    children: Vec<Rc<RefCell<Node>>>,
}

fn build_tree(depth: u32, value: i64) -> Rc<RefCell<Node>> {
    let node = Rc::new(RefCell::new(Node {
        value,
        children: Vec::new(),
    }));
    if depth > 0 {
        for i in 0..3 {
            let child = build_tree(depth - 1, value * 3 + i);
            node.borrow_mut().children.push(child);
        }
    }
    node
}

fn tree_sum(node: &Rc<RefCell<Node>>) -> i64 {
    let node = node.borrow();
    node.value + node.children.iter().map(tree_sum).sum::<i64>()
}

fn shared(sum: &mut Checksum) -> String {
    let root = build_tree(4, 1);
    let shared_leaf = Rc::clone(&root.borrow().children[1]);
    shared_leaf.borrow_mut().value += 1000;
    let total = tree_sum(&root);
    let boxed: Box<[i64]> = (1..=10).map(|n| n * n).collect();
    let mut queue: VecDeque<i64> = boxed.iter().copied().collect();
    queue.rotate_left(3);
    queue.push_front(-1);
    let back = queue.pop_back();
    sum.add_num(total);
    format!(
        "shared: tree={total} rc={} boxed={} queue={:?} back={back:?}",
        Rc::strong_count(&shared_leaf),
        boxed.iter().sum::<i64>(),
        queue.iter().take(4).collect::<Vec<_>>()
    )
}

fn make_adder(n: i64) -> impl Fn(i64) -> i64 {
    move |x| x + n
}

fn compose<'a>(fs: &'a [Box<dyn Fn(i64) -> i64>]) -> impl Fn(i64) -> i64 + 'a {
    move |x| fs.iter().fold(x, |acc, f| f(acc))
}

fn closures(sum: &mut Checksum) -> String {
    let fs: Vec<Box<dyn Fn(i64) -> i64>> = vec![
        Box::new(make_adder(3)),
        Box::new(|x| x * x),
        Box::new(make_adder(-7)),
    ];
    let pipeline = compose(&fs);
    let mut counter = 0;
    let mut bump = |by: i64| {
        counter += by;
        counter
    };
    let bumps: Vec<i64> = (1..=5).map(&mut bump).collect();
    let primes: Vec<u32> = (2u32..60)
        .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .collect();
    let windows: Vec<u32> = primes.windows(2).map(|w| w[1] - w[0]).collect();
    let (evens, odds): (Vec<i64>, Vec<i64>) = (1..=12).partition(|n| n % 2 == 0);
    let zipped: i64 = evens
        .iter()
        .zip(odds.iter().rev())
        .map(|(a, b)| a * b)
        .sum();
    let mut sorted = vec![5, 3, 9, 1, 7, 3, 8, 2];
    sorted.sort_unstable();
    sorted.dedup();
    let pos = sorted.binary_search(&7);
    let text = format!(
        "closures: pipeline={} bumps={bumps:?} primes={} gaps-max={:?} zipped={zipped} sorted={sorted:?} pos={pos:?} {:>6}|{:<6}|{:^7}|{:#x}|{:08.3}|{:e}",
        pipeline(5),
        primes.len(),
        windows.iter().max(),
        "r",
        "l",
        "mid",
        255,
        -3.14159,
        1234.5
    );
    sum.add(&text);
    text
}

fn main() {
    let mut sum = Checksum(0xcbf2_9ce4_8422_2325);
    let mut lines = vec![shapes(&mut sum)];
    lines.extend(words(&mut sum));
    lines.push(results(&mut sum));
    lines.push(shared(&mut sum));
    lines.push(closures(&mut sum));
    for line in &lines {
        println!("{line}");
    }
    println!("checksum={:016x}", sum.0);
}
