/* The ndisemu tool tests' check: a failed CHECK is reported with its line and
   counted in `failures`, which main() returns; the test goes on. */
#ifndef NDISEMU_TESTS_CHECK_H
#define NDISEMU_TESTS_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#endif
