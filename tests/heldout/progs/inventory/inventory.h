/* A small inventory: nested structs, arrays, unions, enums, bitfields, strings, a linked list. */
#ifndef INVENTORY_H
#define INVENTORY_H
enum kind { K_TOOL = 1, K_FOOD = 2, K_TOY = 7 };
struct dims { int w, h; short depth[3]; };
struct price { long cents; char currency[4]; };
struct item {
    int id;
    const char *name;
    enum kind kind;
    unsigned fragile : 1;
    unsigned shelf : 4;
    int rating : 5;
    struct dims dims;
    struct price price;
    union { int qty; float weight; } amount;
    struct item *next;
};
struct inventory {
    const char *owner;
    int count;
    struct item *head;
    struct item *slots[4];
    long totals[3];
};
struct item *make_item(int id, const char *name, enum kind k, int w, int h, long cents);
long item_value(const struct item *it, int discount);
int inv_add(struct inventory *inv, struct item *it);
long inv_total(struct inventory *inv);
const char *kind_name(enum kind k);
#endif
