/*
 * ndisemu --conformance: a fixed sequence of phases, modeled on what the
 * HLK's NDISTest 6.5 LWF logo test exercises, that any LWF author can run in
 * CI. The driver is installed on two adapters; traffic runs both ways (the
 * protocol sends, the miniport receives) with frames up to and beyond the
 * MTU while the phases pause and restart the stacks, indicate media
 * disconnect and connect, reset, issue and cancel OIDs, run a power cycle,
 * cancel sends, detach and re-attach every module; then a quiet window
 * checks connectivity (every packet sent either way arrives intact, none
 * lost) and the driver is unloaded (leak checks). A phase fails on any
 * verifier finding during it or on its own check.
 */
#ifndef NDISEMU_CONFORMANCE_H
#define NDISEMU_CONFORMANCE_H

#include <stdbool.h>

#include "session.h"

/*
 * Runs every phase with cfg's drivers, CPUs, seed, watchdog and verifier
 * setting (adapters, traffic, rates and churn are the run's own). Prints a
 * progress line per phase on stderr unless quiet, then the per-phase report
 * (text, or one JSON object with json) on stdout. Returns the exit status:
 * 0 every phase passed, 1 a phase failed, 2 usage error, 3 deadlock.
 */
int emu_conformance_run(const struct emu_session_config *cfg, bool json, bool quiet);

#endif
