"""stap_order.py against libstdc++ itself: a C++ program built at test time fills a real
std::unordered_multimap keyed like stap's function cache (an std::string subclass whose std::hash
specialization forwards to std::hash<std::string>, as stringtable.h does without boost), one by one
and then a range (update_symtab), and prints its iteration order and the hash values."""
from __future__ import annotations

import random
import subprocess

import pytest

from conftest import build_target
from stapy.debuginfo.stap_order import Multimap, string_hash

PROG = r"""
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>
struct interned : public std::string {
    interned(const std::string &v) : std::string(v) {}
};
namespace std {
template <> struct hash<interned> {
    size_t operator()(interned const &s) const { return hash<string>()(s); }
};
}
int main()
{
    std::unordered_multimap<interned, int> m, extra;
    std::string line;
    int i = 0;
    bool second = false;
    while (std::getline(std::cin, line)) {
        if (line == "--") { second = true; continue; }
        if (second) extra.insert(std::make_pair(interned(line), i++));
        else m.insert(std::make_pair(interned(line), i++));
        std::cout << "h " << std::hash<std::string>()(line) << "\n";
    }
    m.insert(extra.begin(), extra.end());
    for (auto &kv : m) std::cout << "o " << kv.second << "\n";
    return 0;
}
"""


def run_real(names, extra):
    exe = build_target(PROG, flags=("-O1",), lang="c++", name="dbg_multimap")
    text = "\n".join(names + ["--"] + extra) + "\n"
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True).stdout.split("\n")
    hashes = [int(l[2:]) for l in out if l.startswith("h ")]
    order = [int(l[2:]) for l in out if l.startswith("o ")]
    return hashes, order


def emulate(names, extra):
    m, e = Multimap(), Multimap()
    for i, n in enumerate(names):
        m.insert(n, i)
    for j, n in enumerate(extra):
        e.insert(n, len(names) + j)
    m.insert_range(e.items())
    return [v for _, v in m.items()]


@pytest.mark.parametrize("seed", range(6))
def test_matches_libstdcxx(seed):
    rnd = random.Random(seed)
    words = ["main", "add", "show", "mix", "f", "get", "twice", "over", "__libc_malloc", "malloc", "x" * 17,
             "tmax<int>", "operator()", "_ZN2ns3Box3getEi", "a", "ab", "abc", "abcdefgh", "abcdefghi"]
    n = rnd.choice([3, 12, 13, 14, 30, 100, 400])
    names = [rnd.choice(words) + (str(rnd.randrange(50)) if rnd.random() < 0.7 else "") for _ in range(n)]
    extra = [rnd.choice(names) for _ in range(rnd.randrange(0, 40))]
    hashes, order = run_real(names, extra)
    assert hashes == [string_hash(s) for s in names + extra]
    assert emulate(names, extra) == order
