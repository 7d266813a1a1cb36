// C++ target for debuginfo tests: namespaces, methods, templates, overloads.
#include <cstdio>
namespace ns {
struct Box {
    int v;
    int get(int k) const { return v + k; }
    static int twice(int x) { return 2 * x; }
};
int helper(int a) { return a * 3; }
}
template <typename T> T tmax(T a, T b) { return a > b ? a : b; }
int over(int a) { return a; }
int over(double d) { return (int)d; }
int main(int argc, char **)
{
    ns::Box b{argc};
    std::printf("%d\n", b.get(1) + ns::Box::twice(2) + ns::helper(3) + tmax(1, 2) + over(1) + over(2.0));
    return 0;
}
