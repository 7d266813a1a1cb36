// C++: namespaces, classes, virtual methods, templates, std::string.
#include <cstdio>
#include <string>
#include <vector>

namespace geo {
struct Point { int x, y; };

class Shape {
public:
    Shape(const std::string &name, int id) : name_(name), id_(id) {}
    virtual ~Shape() {}
    virtual long area() const = 0;
    const std::string &name() const { return name_; }
    int id() const { return id_; }
protected:
    std::string name_;
    int id_;
};

class Rect : public Shape {
public:
    Rect(int id, Point a, Point b) : Shape("rect", id), a_(a), b_(b) {}
    __attribute__((noinline)) long area() const override { return (long)(b_.x - a_.x) * (b_.y - a_.y); }
    Point a_, b_;
};

class Circle : public Shape {
public:
    Circle(int id, int r) : Shape("circle", id), r_(r) {}
    __attribute__((noinline)) long area() const override { return 3L * r_ * r_; }
    int r_;
};

template <typename T>
__attribute__((noinline)) T clamp_add(T a, T b, T hi)
{
    T s = a + b;
    return s > hi ? hi : s;
}

__attribute__((noinline)) long total_area(const std::vector<Shape *> &v, const char *tag)
{
    long t = 0;
    for (auto *s : v)
        t += s->area();
    std::printf("truth total %s %ld\n", tag, t);
    return t;
}

__attribute__((noinline)) int label_len(const std::string &label, int extra)
{
    return (int)label.size() + extra;
}
} // namespace geo

int main()
{
    std::vector<geo::Shape *> v;
    v.push_back(new geo::Rect(1, {0, 0}, {3, 4}));
    v.push_back(new geo::Circle(2, 5));
    v.push_back(new geo::Rect(3, {1, 1}, {6, 3}));
    for (auto *s : v)
        std::printf("truth area %s %d %ld\n", s->name().c_str(), s->id(), s->area());
    geo::total_area(v, "all");
    std::printf("truth clamp_int %d\n", geo::clamp_add<int>(7, 8, 10));
    std::printf("truth clamp_long %ld\n", geo::clamp_add<long>(70, 8, 100));
    std::string lbl = "a-rather-long-label-beyond-sso";
    std::printf("truth label %d\n", geo::label_len(lbl, 2));
    std::printf("truth label %d\n", geo::label_len(std::string("short"), 1));
    for (auto *s : v) delete s;
    return 0;
}
