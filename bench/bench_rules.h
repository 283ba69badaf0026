/* The rule sets hotlwf-bench loads, by shape (bench.h, rule_shape). */
#ifndef HOTLWF_BENCH_RULES_H
#define HOTLWF_BENCH_RULES_H

#include <stddef.h>
#include <stdint.h>

/* Is shape one bench_rules_blob knows? */
int bench_rules_shape_ok(const char *shape);

/*
 * A blob of `rules` rules of the shape; variant 0 and 1 differ in every
 * rule, so that each SET_CONFIG of the storm really changes the
 * configuration. malloc()ed; NULL with a message in err on failure.
 */
uint8_t *bench_rules_blob(const char *shape, unsigned rules, unsigned variant, size_t *len,
                          char *err, size_t errlen);

#endif
