/*
 * Every pool tag hotlwf uses, one per subsystem, in one table, so that a
 * pool dump (!poolused, or ndisemu's pool-leak report at unload) names the
 * subsystem that leaked. Tags are written reversed: 'mLlH' reads "HlLm" in
 * a little-endian dump.
 */
#ifndef HOTLWF_DRIVER_POOLTAG_H
#define HOTLWF_DRIVER_POOLTAG_H

#define HL_TAG_MODULE 'mLlH'   /* HlLm: filter module contexts (bind.c) */
#define HL_TAG_PERCPU 'pLlH'   /* HlLp: per-module per-CPU views and counters (bind.c) */
#define HL_TAG_CONFIG 'cLlH'   /* HlLc: compiled snapshots (config.c) */
#define HL_TAG_GRACE 'gLlH'    /* HlLg: hlrcu's grace-period DPC block (HlGlobal.Config) */
#define HL_TAG_OID 'oLlH'      /* HlLo: cloned OID requests (oid.c) */
#define HL_TAG_STRATEGY 'sLlH' /* HlLs: strategy private state (strategy.c and friends) */

#endif
