#include <stdio.h>
#include <stdlib.h>
#include "inventory.h"

int global_version = 3;
static const char *store_name = "corner-shop";
struct inventory global_inv;
void *kind_name_ra;   /* kind_name's return address, for the backtrace check */

static unsigned long h(const void *p) { return (unsigned long)p; }

__attribute__((noinline)) int inv_add(struct inventory *inv, struct item *it)
{
    it->next = inv->head;
    inv->head = it;
    if (inv->count < 4)
        inv->slots[inv->count] = it;
    inv->count++;
    return inv->count;
}

/* $it$ as stap prints a pointer to struct: its members, nested aggregates as {...} */
static void print_item(const char *key, const struct item *it)
{
    printf("truth %s {.id=%d, .name=\"%s\", .kind=%d, .fragile=%u, .shelf=%u, .rating=%d, .dims={...}, .price={...}, "
           ".amount={...}, .next=0x%lx}\n", key, it->id, it->name, it->kind, it->fragile, it->shelf, it->rating, h(it->next));
}

__attribute__((noinline)) long inv_total(struct inventory *inv)
{
    long sum = 0;
    int n = 0;
    for (struct item *p = inv->head; p; p = p->next) {
        print_item("iv", p);
        long v = item_value(p, 10);
        printf("truth ivr %ld %d %d\n", v, p->id, 10);
        sum += v;
        n++; /* STMT */
        printf("truth stmt n=%d sum=%ld id=%d\n", n - 1, sum, p->id);
    }
    inv->totals[0] = sum;
    inv->totals[1] = n;
    inv->totals[2] = global_version;
    return sum;
}

int main(int argc, char **argv)
{
    global_inv.owner = store_name;
    const char *names[] = {"hammer", "apple", "yo-yo", "wrench", "bread"};
    enum kind kinds[] = {K_TOOL, K_FOOD, K_TOY, K_TOOL, K_FOOD};
    for (int i = 0; i < 5; i++) {
        int w = 10 * (i + 1), ht = 5 + i;
        long cents = 100 + 25 * i;
        printf("truth mk %d %s %d %d %d %ld\n", i + 1, names[i], kinds[i], w, ht, cents);
        printf("truth parms id=0x%x name=0x%lx k=0x%x w=0x%x h=0x%x cents=0x%lx\n", i + 1, h(names[i]), kinds[i], w, ht, cents);
        struct item *it = make_item(i + 1, names[i], kinds[i], w, ht, cents);
        printf("truth made %d %s shelf=%u rating=%d frag=%u d2=%d cur=%s qty=%d\n", it->id, it->name, it->shelf,
               it->rating, it->fragile, it->dims.depth[2], it->price.currency, it->amount.qty);
        printf("truth add count=%d gv=%d dims={.w=%d, .h=%d, .depth=[...]} full={.w=%d, .h=%d, .depth=[%d, ...]} "
               "cur=\"%s\" slot=%zu price=%zu cast=%d\n", global_inv.count, global_version, it->dims.w, it->dims.h,
               it->dims.w, it->dims.h, it->dims.depth[0], it->price.currency, sizeof(struct item *),
               (size_t)((char *)&it->price - (char *)it), it->dims.h);
        int c = inv_add(&global_inv, it);
        const char *kn = kind_name(it->kind);
        printf("truth kn %d %d\n", it->kind, it->kind);
        printf("truth caller 0x%lx\n", h(kind_name_ra));
        printf("truth info %d %s %s\n", c, it->name, kn);
    }
    struct item *p;
    for (p = global_inv.head; p; p = p->next) {
        print_item("iv", p);
        printf("truth ivr %ld %d %d\n", item_value(p, 10), p->id, 10);
    }
    printf("truth tot {.owner=\"%s\", .count=%d, .head=0x%lx, .slots=[0x%lx, ...], .totals=[%ld, ...]}\n",
           global_inv.owner, global_inv.count, h(global_inv.head), h(global_inv.slots[0]), global_inv.totals[0]);
    long t = inv_total(&global_inv);
    printf("truth totr %ld return=0x%lx\n", t, t);
    return 0;
}
