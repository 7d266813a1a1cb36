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
    for (auto *s : v) {
        long a = s->area();
        std::printf("truth arear %ld\n", a);
        t += a;
    }
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
    for (int round = 0; round < 2; round++) {
        for (auto *s : v) {
            if (auto *r = dynamic_cast<geo::Rect *>(s))
                std::printf("truth rect %d %d %d %d id=%d name=%s\n", r->a_.x, r->a_.y, r->b_.x, r->b_.y, r->id(),
                            r->name().c_str());
            else
                std::printf("truth circ {.r_=%d, .name_={...}, .id_=%d}\n", static_cast<geo::Circle *>(s)->r_, s->id());
            if (round == 0)
                std::printf("truth arear %ld\n", s->area());
        }
    }
    /* the entries of round 1 happen in total_area, which prints the returns */
    std::printf("truth ta all n=%zu\n", v.size() * sizeof(void *));
    geo::total_area(v, "all");
    std::printf("truth ci 7 8 10\n");
    std::printf("truth clamp_int %d\n", geo::clamp_add<int>(7, 8, 10));
    std::printf("truth cl %ld\n", geo::clamp_add<long>(70, 8, 100));
    std::string lbl = "a-rather-long-label-beyond-sso";
    std::printf("truth ll %s 2\n", lbl.c_str());
    std::printf("truth label %d\n", geo::label_len(lbl, 2));
    std::printf("truth ll short 1\n");
    std::printf("truth label %d\n", geo::label_len(std::string("short"), 1));
    for (auto *s : v) delete s;
    return 0;
}
