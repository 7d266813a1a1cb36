// C++ exceptions thrown through functions with return probes.
#include <cstdio>
#include <stdexcept>

volatile int sink;
extern "C" __attribute__((noinline)) int thrower(int x) { sink++; if (x) throw std::runtime_error("x"); return 1; }
extern "C" __attribute__((noinline)) int middle(int x) { sink++; return thrower(x) + 1; }
extern "C" __attribute__((noinline)) int catcher(int x) {
    sink++;
    try { return middle(x); } catch (const std::exception &) { return -1; }
}

int main() {
    int s = 0;
    for (int i = 0; i < 10; i++) s += catcher(i % 2);
    std::printf("s=%d\n", s);  // 5 * 2 + 5 * -1 = 5
    return s == 5 ? 0 : 1;
}
