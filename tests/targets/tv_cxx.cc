/* C++: this, base classes, references; prints its own values. */
#include <cstdio>
struct Base { int b = 5; };
struct Pt : Base { int x, y; const char *tag; int sum(int &k) const; };
__attribute__((noipa)) int Pt::sum(int &k) const { std::printf("sum x=%d y=%d k=%d b=%d tag=%s\n", x, y, k, b, tag); return x + y + k; }
int main() { Pt p; p.x = 3; p.y = 4; p.tag = "pt"; int k = 9; return p.sum(k) == 16 ? 0 : 1; }
