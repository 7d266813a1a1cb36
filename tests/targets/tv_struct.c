/* A struct-heavy target for target variables: prints the values the tests expect to read. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

enum color { RED, GREEN = 5, BLUE };
struct inner { int a; char tag; };
struct node {
    int id;
    unsigned flags : 3;
    signed level : 5;
    char name[8];
    const char *label;
    double weight;
    enum color color;
    struct inner in;
    int vals[4];
    struct node *next;
    union { int i; char c[4]; } u;
};
typedef struct node node_t;

int global_counter = 42;
static const char *global_msg = "hello";
struct node global_node;

__attribute__((noinline)) long add(long a, int b) {
    long sum = a + b;
    printf("add a=%ld b=%d sum=%ld\n", a, b, sum);
    return sum;
}

__attribute__((noinline)) int walk(node_t *p, int depth) {
    int total = 0;
    while (p) {
        total += p->id;
        p = p->next;
    }
    printf("walk depth=%d total=%d\n", depth, total);
    return total + depth;
}

__attribute__((noinline)) void show(struct node *n, char c, unsigned short us) {
    printf("show id=%d flags=%u level=%d name=%s label=%s color=%d in.a=%d in.tag=%c vals[3]=%d c=%c us=%u\n",
           n->id, n->flags, n->level, n->name, n->label, n->color, n->in.a, n->in.tag, n->vals[3], c, us);
}

int main(int argc, char **argv) {
    struct node b = {0};
    struct node a = {0};
    a.id = 7; a.flags = 5; a.level = -3; strcpy(a.name, "alpha"); a.label = "first";
    a.weight = 1.5; a.color = BLUE; a.in.a = 11; a.in.tag = 'x';
    for (int i = 0; i < 4; i++) a.vals[i] = 100 + i;
    a.next = &b; a.u.i = 0x41424344;
    b.id = 9; strcpy(b.name, "beta"); b.label = "second"; b.color = GREEN;
    global_node = a;
    printf("main argc=%d global_counter=%d a.next=%p\n", argc, global_counter, (void *)a.next);
    add(40, 2);
    walk(&a, 3);
    show(&a, 'q', 65535);
    global_counter++;
    return 0;
}
