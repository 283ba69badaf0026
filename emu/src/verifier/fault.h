/*
 * Low-resources simulation, like Driver Verifier's: allocation APIs called by
 * a driver under test fail on purpose, deterministically from a seed.
 *
 *   ndisemu --fault-injection RATE|every=N[,seed=S]
 *
 * RATE (0 < RATE <= 1) fails each eligible call with that probability,
 * drawn from a hash of the seed and the call's sequence number; every=N
 * fails every N-th eligible call. Eligible: a call whose return address is
 * in a loaded driver's code, never one ndisemu makes for itself (its hosts'
 * pools, NBLs and work). The sequence is global, so a run whose allocations
 * come from one thread at a time fails the same calls every time; with
 * allocations racing on several CPUs, which of them gets the N-th number
 * is up to the scheduler, as on Windows.
 */
#ifndef NDISEMU_FAULT_H
#define NDISEMU_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses and switches injection on (spec NULL or "": off), and resets the
   counts. false with a message in err for a bad spec (nothing changes). */
bool emu_fault_configure(const char *spec, char *err, size_t errlen);
/* Pauses or resumes injection without touching the counts (tests aim it). */
void emu_fault_set_active(bool on);

/* The one line each allocation API starts with; caller =
   __builtin_return_address(0) of the exported API. */
bool emu_fault_should_fail(const char *api, const void *caller);

/* Failed calls so far, all APIs or one (NULL = all). */
uint64_t emu_fault_failed(const char *api);
/* Text: a summary line, counts per API, the first failures with their
   callback context. JSON: one object (nothing printed when never configured). */
void emu_fault_print(FILE *f, bool json);
bool emu_fault_configured(void);

#endif
