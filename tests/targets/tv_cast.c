/* @cast with types from libc headers: the program hands out untyped pointers to libc structs and
   prints their members itself. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>

__attribute__((noinline)) void take(void *sa, void *st, void *tv)
{
    __asm__ volatile("" : : "r"(sa), "r"(st), "r"(tv) : "memory");
}

int main(void)
{
    struct sockaddr_in a = { 0 };
    struct stat st;
    struct timeval tv = { 12345, 678 };
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    a.sin_addr.s_addr = inet_addr("10.1.2.3");
    if (stat("/", &st) != 0)
        return 1;
    printf("cast family=%d port=%d addr=%u nlink=%lu ino=%lu sec=%ld usec=%ld\n", a.sin_family, a.sin_port,
           a.sin_addr.s_addr, (unsigned long)st.st_nlink, (unsigned long)st.st_ino, (long)tv.tv_sec,
           (long)tv.tv_usec);
    take(&a, &st, &tv);
    return 0;
}
