// Corpus program: a C++17 workload over the standard library (built by
// tests/common/corpus.rs with clang++-22 for wasm32-wasi against libc++, and
// natively). Deterministic: no time, randomness, addresses, or output that
// depends on unordered_map iteration order or hash values (those differ
// between libc++ and libstdc++), and only total orders for std::sort.
// Built with -fno-exceptions: nothing here throws.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corpus {

// A running checksum over everything the workloads produce.
class Checksum {
public:
    void add(std::uint64_t value) {
        state_ = (state_ ^ value) * 1099511628211ULL;
    }
    void add(const std::string &text) {
        for (unsigned char c : text) {
            add(static_cast<std::uint64_t>(c));
        }
    }
    std::uint64_t value() const { return state_; }

private:
    std::uint64_t state_ = 14695981039346656037ULL;
};

namespace shapes {

// Classes with inheritance and virtual calls.
class Shape {
public:
    explicit Shape(std::string name) : name_(std::move(name)) {}
    virtual ~Shape() = default;
    virtual long area() const = 0;
    virtual long perimeter() const = 0;
    virtual std::string describe() const {
        return name_ + "[" + std::to_string(area()) + "]";
    }
    const std::string &name() const { return name_; }

private:
    std::string name_;
};

class Rect : public Shape {
public:
    Rect(long w, long h) : Shape("rect"), w_(w), h_(h) {}
    Rect(std::string name, long w, long h) : Shape(std::move(name)), w_(w), h_(h) {}
    long area() const override { return w_ * h_; }
    long perimeter() const override { return 2 * (w_ + h_); }

protected:
    long w_;
    long h_;
};

class Square final : public Rect {
public:
    explicit Square(long side) : Rect("square", side, side) {}
    std::string describe() const override {
        return "sq" + std::to_string(w_) + ":" + Rect::describe();
    }
};

class Triangle : public Shape {
public:
    Triangle(long a, long b, long c) : Shape("tri"), a_(a), b_(b), c_(c) {}
    // Twice the area of a right triangle with legs a and b, to stay integral.
    long area() const override { return a_ * b_; }
    long perimeter() const override { return a_ + b_ + c_; }

private:
    long a_;
    long b_;
    long c_;
};

std::vector<std::unique_ptr<Shape>> make_shapes(int count) {
    std::vector<std::unique_ptr<Shape>> shapes;
    for (int i = 1; i <= count; ++i) {
        switch (i % 3) {
        case 0:
            shapes.push_back(std::make_unique<Rect>(i, i + 2));
            break;
        case 1:
            shapes.push_back(std::make_unique<Square>(i));
            break;
        default:
            shapes.push_back(std::make_unique<Triangle>(3 * i, 4 * i, 5 * i));
            break;
        }
    }
    return shapes;
}

} // namespace shapes

namespace algo {

// A template function.
template <typename T, typename F>
T fold(const std::vector<T> &items, T init, F step) {
    for (const T &item : items) {
        init = step(init, item);
    }
    return init;
}

// A template class: a fixed-capacity ring buffer.
template <typename T, std::size_t N>
class Ring {
public:
    void push(const T &value) {
        data_[head_] = value;
        head_ = (head_ + 1) % N;
        if (size_ < N) {
            ++size_;
        }
    }
    std::size_t size() const { return size_; }
    T sum() const {
        T total{};
        for (std::size_t i = 0; i < size_; ++i) {
            total += data_[i];
        }
        return total;
    }

private:
    T data_[N]{};
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

long collatz_steps(long n) {
    long steps = 0;
    while (n != 1) {
        n = (n % 2 == 0) ? n / 2 : 3 * n + 1;
        ++steps;
    }
    return steps;
}

long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

} // namespace algo

struct Employee {
    std::string name;
    std::string team;
    int salary;
};

std::vector<Employee> staff() {
    const char *names[] = {"ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal",
                           "ivy", "jo", "kit", "lou", "max", "ned", "oz", "pam"};
    const char *teams[] = {"core", "web", "ops"};
    std::vector<Employee> out;
    int i = 0;
    for (const char *name : names) {
        out.push_back({name, teams[i % 3], 1000 + (i * 379) % 800});
        ++i;
    }
    return out;
}

} // namespace corpus

using corpus::Checksum;

static void shapes_demo(Checksum &sum) {
    auto shapes = corpus::shapes::make_shapes(12);
    long total_area = 0;
    long total_perimeter = 0;
    std::string labels;
    for (const auto &shape : shapes) {
        total_area += shape->area();
        total_perimeter += shape->perimeter();
        labels += shape->describe();
        labels += ' ';
    }
    sum.add(labels);
    sum.add(static_cast<std::uint64_t>(total_area));
    std::printf("shapes: %zu area=%ld perimeter=%ld first=%s\n", shapes.size(), total_area,
                total_perimeter, shapes.front()->describe().c_str());
}

static void containers_demo(Checksum &sum) {
    auto people = corpus::staff();

    // std::sort with a lambda: by team, then salary descending, then name.
    std::sort(people.begin(), people.end(), [](const auto &a, const auto &b) {
        if (a.team != b.team) {
            return a.team < b.team;
        }
        if (a.salary != b.salary) {
            return a.salary > b.salary;
        }
        return a.name < b.name;
    });

    std::map<std::string, std::vector<std::string>> by_team;
    std::unordered_map<std::string, int> payroll;
    for (const auto &e : people) {
        by_team[e.team].push_back(e.name);
        payroll[e.team] += e.salary;
        sum.add(e.name);
    }

    // Read the unordered_map through a sorted key list, never in its own order.
    std::vector<std::string> teams;
    teams.reserve(payroll.size());
    for (const auto &entry : payroll) {
        teams.push_back(entry.first);
    }
    std::sort(teams.begin(), teams.end());
    std::string summary;
    for (const auto &team : teams) {
        const auto &members = by_team.at(team);
        summary += team + "=" + std::to_string(payroll.at(team)) + "/" +
                   std::to_string(members.size()) + "(" + members.front() + ") ";
    }
    sum.add(summary);
    std::printf("teams: %s\n", summary.c_str());

    auto richest = std::max_element(people.begin(), people.end(),
                                    [](const auto &a, const auto &b) {
                                        return a.salary < b.salary ||
                                               (a.salary == b.salary && a.name > b.name);
                                    });
    auto high = std::count_if(people.begin(), people.end(),
                              [](const auto &e) { return e.salary >= 1400; });
    std::printf("staff: richest=%s high=%ld\n", richest->name.c_str(), static_cast<long>(high));
    sum.add(static_cast<std::uint64_t>(high));
}

static void algorithms_demo(Checksum &sum) {
    std::vector<long> numbers(40);
    std::iota(numbers.begin(), numbers.end(), 1);
    std::vector<long> squares;
    std::transform(numbers.begin(), numbers.end(), std::back_inserter(squares),
                   [](long n) { return n * n; });
    auto odd_end = std::remove_if(squares.begin(), squares.end(),
                                  [](long n) { return n % 2 == 0; });
    squares.erase(odd_end, squares.end());
    std::reverse(squares.begin(), squares.end());
    long acc = std::accumulate(squares.begin(), squares.end(), 0L);
    long folded = corpus::algo::fold(numbers, 0L, [](long a, long b) { return a * 3 % 1000003 + b; });

    corpus::algo::Ring<long, 8> ring;
    for (long n : numbers) {
        ring.push(corpus::algo::collatz_steps(n));
    }

    std::vector<int> perm = {1, 2, 3, 4};
    int permutations = 0;
    do {
        ++permutations;
    } while (std::next_permutation(perm.begin(), perm.end()));

    auto found = std::lower_bound(numbers.begin(), numbers.end(), 17);
    sum.add(static_cast<std::uint64_t>(acc));
    sum.add(static_cast<std::uint64_t>(folded));
    sum.add(static_cast<std::uint64_t>(ring.sum()));
    std::printf("algorithms: odd-squares=%zu sum=%ld fold=%ld ring=%ld/%zu perms=%d at=%ld fib=%ld\n",
                squares.size(), acc, folded, ring.sum(), ring.size(), permutations,
                static_cast<long>(found - numbers.begin()), corpus::algo::fib(18));
}

static void functions_demo(Checksum &sum) {
    // std::function holding lambdas, a free function and a capturing closure.
    std::vector<std::pair<std::string, std::function<long(long)>>> ops;
    long offset = 7;
    ops.emplace_back("double", [](long x) { return 2 * x; });
    ops.emplace_back("offset", [offset](long x) { return x + offset; });
    ops.emplace_back("collatz", corpus::algo::collatz_steps);
    ops.emplace_back("square", [](long x) { return x * x; });

    std::map<std::string, long> results;
    for (const auto &op : ops) {
        long value = 0;
        for (long x = 1; x <= 25; ++x) {
            value += op.second(x);
        }
        results[op.first] = value;
    }
    std::function<long(long)> compose = [&ops](long x) {
        for (const auto &op : ops) {
            x = op.second(x) % 10007;
        }
        return x;
    };

    std::string line;
    for (const auto &entry : results) {
        line += entry.first + "=" + std::to_string(entry.second) + " ";
    }
    line += "compose=" + std::to_string(compose(11));
    sum.add(line);
    std::printf("functions: %s\n", line.c_str());
}

static void strings_demo(Checksum &sum) {
    std::string text = "the quick brown fox jumps over the lazy dog";
    std::vector<std::string> words;
    std::string::size_type start = 0;
    while (start < text.size()) {
        auto end = text.find(' ', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        words.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    std::sort(words.begin(), words.end(), [](const std::string &a, const std::string &b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    std::string joined;
    for (const auto &w : words) {
        joined += w;
        joined += ',';
    }
    std::unordered_map<char, int> letters;
    for (char c : text) {
        if (c != ' ') {
            ++letters[c];
        }
    }
    int max_count = 0;
    char max_letter = '?';
    for (char c = 'a'; c <= 'z'; ++c) {
        auto it = letters.find(c);
        if (it != letters.end() && it->second > max_count) {
            max_count = it->second;
            max_letter = c;
        }
    }
    std::string upper = text;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
    sum.add(joined);
    sum.add(upper);
    std::printf("strings: %s top=%c*%d distinct=%zu\n", joined.c_str(), max_letter, max_count,
                letters.size());
}

int main() {
    Checksum sum;
    shapes_demo(sum);
    containers_demo(sum);
    algorithms_demo(sum);
    functions_demo(sum);
    strings_demo(sum);
    std::printf("checksum=%llu\n", static_cast<unsigned long long>(sum.value()));
    return 0;
}
