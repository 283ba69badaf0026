/*
 * A minimal harness for the kernel-layer tests: CHECK fails the test with
 * the location and the expression; every test ends by asserting the exact
 * findings it expected, so an unexpected finding fails it too.
 */
#ifndef NDISEMU_KTEST_H
#define NDISEMU_KTEST_H

#include "kernel.h"
#include "verifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(e)                                                                                   \
    do {                                                                                           \
        if (!(e)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #e);                  \
            emu_violations_print(stderr, false);                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static inline void kt_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls cond (an expression) for up to ms milliseconds. */
#define WAIT_UNTIL(cond, ms)                                                                       \
    ({                                                                                             \
        unsigned _w = 0;                                                                           \
        while (!(cond) && _w < (ms)) {                                                             \
            kt_sleep_ms(1);                                                                        \
            _w++;                                                                                  \
        }                                                                                          \
        (bool)(cond);                                                                              \
    })

static inline bool kt_stress(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "stress") == 0;
}

static inline void kt_expect_only(enum emu_rule rule, size_t n)
{
    if (emu_violation_count_rule(rule) != n || emu_violation_count() != n) {
        fprintf(stderr, "expected exactly %zu finding(s) of [%s], got %zu (total %zu)\n", n,
                emu_rule_id(rule), emu_violation_count_rule(rule), emu_violation_count());
        emu_violations_print(stderr, false);
        exit(1);
    }
}

#endif
